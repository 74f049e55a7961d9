"""analytics' own settings, read from the environment with embedded defaults
(docs/configuration.md). The platform composes them with every other part's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class AnalyticsSettings:
    #: How often analytics looks for enrollment files in its object storage, in seconds (0:
    #: never; the API and the CLI still run it on demand).
    intake_interval_s: float = 5.0

    #: The file stores analytics owns: its object storage (files in) and its content server
    #: (files out).
    stores: ClassVar[tuple[str, ...]] = ("analytics-storage", "analytics-content")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AnalyticsSettings:
        return cls(
            intake_interval_s=float(env.get("DERLINK_INTAKE_INTERVAL_S", cls.intake_interval_s))
        )
