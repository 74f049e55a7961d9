"""analytics' settings: the reading rule's parameters, from the environment."""

from __future__ import annotations

import pytest

from derlink.analytics.settings import AnalyticsSettings
from derlink.common.errors import ConfigurationError


def test_the_outlier_rule_and_the_wh_threshold_are_settings():
    settings = AnalyticsSettings.from_env(
        {
            "DERLINK_ANALYTICS_OUTLIER_FACTOR": "4",
            "DERLINK_ANALYTICS_OUTLIER_PERCENTILE": "99",
            "DERLINK_ANALYTICS_WH_MEDIAN_KWH_PER_HOUR": "250",
        }
    )
    assert (
        settings.outlier_factor,
        settings.outlier_percentile,
        settings.wh_median_kwh_per_hour,
    ) == (4.0, 99.0, 250.0)
    defaults = AnalyticsSettings.from_env({})
    assert (defaults.outlier_factor, defaults.outlier_percentile) == (10.0, 95.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DERLINK_ANALYTICS_OUTLIER_PERCENTILE", "150"),
        ("DERLINK_ANALYTICS_OUTLIER_FACTOR", "0.5"),
        ("DERLINK_ANALYTICS_WH_MEDIAN_KWH_PER_HOUR", "lots"),
    ],
)
def test_a_reading_rule_setting_out_of_bounds_is_refused_by_name(name, value):
    with pytest.raises(ConfigurationError, match=name):
        AnalyticsSettings.from_env({name: value})
