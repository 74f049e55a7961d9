"""Analytics: interval measurements, baselines, kWh avoided, kW drop and forecasts.

The part plays the role of Oracle Analytics Insights. Every computation is a vectorized kernel over
a whole population of service points: numpy arrays in, numpy arrays out, no Python loop per service
point on the hot path. File layouts are documented in ``docs/contracts/analytics-files.md``; the
methods in ``docs/analytics.md``.

Packages, each importing only the ones below it (import-linter keeps the order):

- ``app``           the part: its API app, its database, the enrollment intake's loop
- ``migrations``    the part's migrations (every feature's tables)
- ``enrollments/``  the enrollment intake: extract files in, subscriptions and ack files out,
                    and the API over what it stored
- ``runs/``         what ``derlink analytics`` does with files: read the inputs, choose the
                    baseline method, run a kernel over streamed batches, write the outputs
- ``measurements/`` interval data files (CSV, Parquet, Green Button XML) and the weather file
- ``kernels/``      pure computation: local time, grids, baselines behind one protocol, kWh
                    avoided, forecasts, a synthetic population
- ``db``, ``errors`` the part's ``MetaData``, and what it raises on purpose
"""
