"""The scheduled load-reduction forecast (LRF): every service point of an Active subscription
analytics holds, forecast for the coming day from the measurement files in its object storage,
written as ``LRF_<stamp>.csv`` to its content server for the hub's LRF flow (docs/analytics.md)."""
