"""Device scores (DEV-SCORE): cpm scores every device of an Active subscription from its
participation history, and writes the score file (``SDCSE_<stamp>.csv``) to its content server,
where the hub's DEV-SCORE flow takes it to DERMS (docs/cpm-scores.md).

The history is the outcomes EVT-OUTCOME recorded on the devices' event participations, and
the rows of participation-history files (``PARTICIPATION_<name>.csv``, events before derlink ran
them) put on cpm's content server, taken in through the platform's file-intake machinery at the
start of each run."""
