"""What stage generation reads from DERMS's stored forecasts: the fast reading of the stored
intervals agrees with parsing each as JSON, and forecasts of other lengths fall back to it."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from derlink.derms.events import planning
from derlink.derms.events.planning import _interval_matrices


def _no_json(_text: object) -> object:
    raise AssertionError("parsed as JSON")


def stored(p10: list[float], p50: list[float], p90: list[float]) -> str:
    """A forecast's intervals as DERMS stores them (derms/inputs/service.py)."""
    return orjson.dumps({"p10": p10, "p50": p50, "p90": p90}).decode()


def test_forecasts_of_one_length_are_read_as_numbers_in_their_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Read without a JSON parse of each forecast: the parse would fail here.
    monkeypatch.setattr(planning.orjson, "loads", _no_json)
    texts = [
        stored([0.1, 1e-05], [1.0, 2.0], [4.0, 5.5]),
        stored([7.0, 8.0], [1.5, 2.5], [9.0, 6.25]),
    ]
    p10, p50, p90 = _interval_matrices(texts)
    assert p10.tolist() == [[0.1, 1e-05], [7.0, 8.0]]
    assert p50.tolist() == [[1.0, 2.0], [1.5, 2.5]]
    assert p90.tolist() == [[4.0, 5.5], [9.0, 6.25]]


def test_forecasts_of_other_lengths_are_padded_with_nan() -> None:
    texts = [stored([1.0, 2.0], [2.0, 3.0], [3.0, 4.0]), stored([1.0], [2.5], [3.0])]
    p10, p50, p90 = _interval_matrices(texts)
    assert p50[0].tolist() == [2.0, 3.0]
    assert p50[1, 0] == 2.5 and np.isnan(p50[1, 1])
    assert p10.shape == p90.shape == (2, 2)


def test_no_forecast_gives_empty_matrices() -> None:
    assert all(m.shape[0] == 0 for m in _interval_matrices([]))
