"""DERMS's inputs from the other parts, by file flow: the device scores cpm computes
(DEV-SCORE) and the load-reduction forecasts analytics computes (LRF), the latest of each kept
(docs/contracts/derms-inputs.md)."""
