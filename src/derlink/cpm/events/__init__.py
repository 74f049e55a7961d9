"""Program events (EVT-STATUS): one program event per DERMS stage, created when the stage is
scheduled and moved by DERMS's lifecycle actions, with the history of its transitions; and
event participations (EVT-RESERVE): one per device per program event, made by the reservation
of a stage's devices (docs/contracts/program-events.md). Opt-outs, unavailability and outcomes
(OPT-OUT, UNAVAIL, EVT-OUTCOME) move participations on; they are not built yet."""
