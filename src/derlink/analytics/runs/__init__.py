"""analytics' runs: what ``derlink analytics`` does with files, one command at a time.

A run reads its input files, chooses the baseline method, streams the measurements through a
kernel in batches of whole service points and writes its output files; the CLI only parses the
options, shows the progress and prints what was written.

- ``inputs``       events, outcome files (who took part), service points, program methods and
                   past kWh avoided files
- ``population``   a run's optional inputs, read into what the kernels know of the service points
- ``progress``     the ``Progress`` a run reports to, and the measurement batches it reports on
- ``kwh_avoided``  one event's kWh avoided, kW drop and warnings files
- ``baselines``    one event's baselines beside the actual load
- ``forecast``     the expected reduction over a coming window, with its band
- ``synthetic``    a synthetic population written as the documented input files
- ``outputs``      how every output table is written (CSV, blanks, four decimals)
- ``memory``       process memory settings for batch runs (called by entry points)
"""
