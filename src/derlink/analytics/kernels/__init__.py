"""analytics' kernels: pure, vectorized computation over whole populations of service points.

Arrays and frames in, arrays and frames out: no file or network I/O, no database, no web (an
import-linter contract keeps them out, for every module under this package). Files are read and
written by ``measurements/`` and ``runs/``.

- ``localtime``    local days, interval slots and day types from UTC instants (DST-safe)
- ``sufficiency``  data-sufficiency warnings as data, with dotted names (eemeter style)
- ``intervals``    ``IntervalBatch``: the rows of N whole service points, grouped
- ``grid``         a batch on a shared grid of UTC intervals; interval detection
- ``weather``      hourly temperature per station
- ``events``       events, service point attributes, each service point's event days
- ``groups``       a batch split by time zone × interval length; what a run knows besides
- ``baselines/``   X-of-Y rules and the CalTRACK-hourly regression behind one protocol
- ``kwh_avoided``  kWh avoided and kW drop of one event over batches, and their rows
- ``forecast``     load-reduction forecast for a coming window, with a P10–P90 band
- ``synthetic``    a synthetic population with known ground truth
"""
