"""The eemeter side of the comparison; runs in .venv-bench (bench/eemeter_env.sh), never in
derlink's own environment. Reads the meters written by bench/analytics_eemeter.py, fits
eemeter's CalTRACK DR model (``eemeter.drmeter.CaltrackDRModel``) per meter on the baseline
hours and predicts the event hours; writes per-meter event-period baseline kWh and the time
spent fitting and predicting.

    .venv-bench/bin/python bench/analytics_eemeter_ref.py DATA_DIR [FIRST LAST]

FIRST/LAST pick a slice of the meters, so that the work can be split over processes; each
process reports the seconds it spent fitting and predicting, and the sum is the total.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def main() -> None:
    folder = Path(sys.argv[1])
    from eemeter.drmeter import (
        CaltrackDRBaselineData,
        CaltrackDRModel,
        CaltrackDRReportingData,
    )

    warnings.filterwarnings("ignore")  # statsmodels re-enables its own at import
    meta = json.loads((folder / "meta.json").read_text())
    zone = meta["time_zone"]
    kwh = np.load(folder / "kwh.npy")
    temperature = np.load(folder / "temperature.npy")
    training = np.load(folder / "training.npy")
    starts = pd.to_datetime(np.load(folder / "starts_us.npy"), unit="us", utc=True).tz_convert(zone)
    event = np.load(folder / "event_columns.npy")
    ids = json.loads((folder / "sp_ids.json").read_text())
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    last = min(int(sys.argv[3]), len(ids)) if len(sys.argv) > 3 else len(ids)
    count = last - first
    results = []
    fit_s = 0.0
    for i in range(first, last):
        baseline_cols = np.flatnonzero(training[i])
        meter = pd.Series(kwh[i, baseline_cols], index=starts[baseline_cols], name="observed")
        temps = pd.Series(temperature[i, baseline_cols], index=starts[baseline_cols])
        event_temps = pd.Series(temperature[i, event], index=starts[event])
        began = time.perf_counter()
        data = CaltrackDRBaselineData.from_series(meter, temps, is_electricity_data=True)
        model = CaltrackDRModel().fit(data)
        reporting = CaltrackDRReportingData.from_series(None, event_temps, is_electricity_data=True)
        predicted = model.predict(reporting)["predicted"].to_numpy()
        fit_s += time.perf_counter() - began
        results.append(
            {
                "sp_id": ids[i],
                "eemeter_kwh": float(np.nansum(predicted)),
                "eemeter_hours": int(np.isfinite(predicted).sum()),
            }
        )
    (folder / f"eemeter-{first}.json").write_text(
        json.dumps({"meters": count, "fit_predict_s": fit_s, "results": results})
    )
    print(json.dumps({"meters": count, "fit_predict_s": round(fit_s, 2)}))


if __name__ == "__main__":
    main()
