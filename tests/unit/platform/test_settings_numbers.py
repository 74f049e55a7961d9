"""Numbers from the environment: above zero unless a bound says otherwise, and a bound of zero
takes zero (an interval of 0 means never)."""

from __future__ import annotations

import pytest

from derlink.common.errors import ConfigurationError
from derlink.cpm.settings import CpmSettings
from derlink.platform.settings import number


def test_zero_is_taken_where_the_bound_is_zero_and_refused_where_none_is_given():
    assert number({"X": "0"}, "X", 5.0, at_least=0) == 0.0
    assert number({"X": "2"}, "X", 5, at_least=1) == 2
    with pytest.raises(ConfigurationError, match="X must be above zero, not '0'"):
        number({"X": "0"}, "X", 5)
    with pytest.raises(ConfigurationError, match="X must be at least 0, not '-1'"):
        number({"X": "-1"}, "X", 5.0, at_least=0)


def test_an_extract_interval_of_zero_turns_the_schedule_off():
    assert CpmSettings.from_env({"DERLINK_EXTRACT_INTERVAL_S": "0"}).extract_interval_s == 0.0
