"""Settlement: credits per event from the kWh avoided and kW drop files analytics sends
(KWH-AVOIDED), summarized per customer and bill period. Not built yet; this package is its
place."""
