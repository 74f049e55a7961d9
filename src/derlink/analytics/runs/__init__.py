"""analytics' runs: what ``derlink analytics`` does with files, one command at a time.

A run reads its input files, chooses the baseline method, streams the measurements through a
kernel in batches of whole service points and writes its output files; the CLI only parses the
options, shows the progress and prints what was written.
"""
