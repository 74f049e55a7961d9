"""Program events (EVT-STATUS): one program event per DERMS stage, created when the stage is
scheduled and moved by DERMS's lifecycle actions, with the history of its transitions
(docs/contracts/program-events.md). Event participation (EVT-RESERVE, EVT-OUTCOME, OPT-OUT,
UNAVAIL: one per device per program event, with its reservation, opt-out and outcome) is not
built yet; this package is its place."""
