"""Device scores (DEV-SCORE): cpm scores every device of an Active subscription from its
participation history, and writes the score file (``SDCSE_<stamp>.csv``) to its content server,
where the hub's DEV-SCORE flow takes it to DERMS (docs/cpm-scores.md).

Until cpm records event outcomes itself, the history comes from participation-history files
(``PARTICIPATION_<name>.csv``) put on cpm's content server, taken in through the platform's
file-intake machinery at the start of each run."""
