"""Settlement (SPEC KWH-AVOIDED, cpm): credits per event from the kWh avoided and kW drop files
analytics sends, summarized per customer and bill period. Not built yet; this package is its
place."""
