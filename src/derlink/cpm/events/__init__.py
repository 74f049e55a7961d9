"""Program events and event participation (EVT-STATUS, EVT-RESERVE, EVT-OUTCOME, OPT-OUT,
UNAVAIL): one program event per DERMS stage, one participation per device per program event
with its reservation, opt-out and outcome. Not built yet; this package is its place."""
