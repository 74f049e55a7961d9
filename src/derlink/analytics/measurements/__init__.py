"""Interval data files in and out, and the weather file: everything analytics reads from disk
for the kernels, and the measurement files it writes.

- ``readers``  CSV and Parquet files read whole into the long frame ``sp_id, start, kwh``
- ``espi``     Green Button (NAESB ESPI) XML
- ``parquet``  the streaming Parquet layout: its writer and its reader in batches
- ``batches``  batches of whole service points from any measurement file
- ``weather``  the hourly temperature file, into ``kernels.weather.Weather``
"""
