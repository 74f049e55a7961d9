"""Analytics: interval measurements, baselines, kWh avoided, kW drop, forecasts and device scores.

The part plays the role of Oracle Analytics Insights (SPEC §3 Analytics). Every computation
here is a vectorized kernel over a whole population of service points: numpy arrays in, numpy
arrays out, no Python loop per service point on the hot path. File layouts are documented in
``docs/contracts/analytics-files.md``; the methods in ``docs/analytics.md``.

Modules by role:

- ``localtime``     local days, interval slots and day types, computed from UTC (DST-safe)
- ``sufficiency``   data-sufficiency warnings as data, with dotted names (eemeter style)
- ``measurements``  interval-data readers and writers (CSV, Parquet) and ``IntervalBatch``
- ``espi``          Green Button (NAESB ESPI) XML reader
- ``grid``          a batch of service points on a shared grid of UTC intervals
- ``weather``       hourly temperature per station and the service point → station mapping
- ``events``        DR events and each service point's past event days
- ``baselines``     X-of-Y day matching with presets, and the CalTRACK-hourly regression
- ``settlement``    kWh avoided and kW drop per service point per event, and their files
- ``forecast``      load-reduction forecast per service point for a coming event window
- ``scores``        device score from participation history (the SDCSE file)
- ``synthetic``     a synthetic population with known ground truth
- ``pipeline``      file-to-file runs in batches of service points
"""
