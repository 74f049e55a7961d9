"""analytics' own settings, read from the environment with embedded defaults
(docs/configuration.md). The platform composes them with every other part's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from derlink.platform.settings import number


@dataclass(frozen=True)
class AnalyticsSettings:
    #: How often analytics looks for enrollment files in its object storage, in seconds (0:
    #: never; the API and the CLI still run it on demand).
    intake_interval_s: float = 5.0
    #: Who hears of an entry of the object storage the intake cannot take (a link, a folder, a
    #: name not allowed), set aside: the technical recipients.
    intake_notify_to: tuple[str, ...] = ("integration-ops@utility.example",)

    #: The file stores analytics owns: its object storage (files in) and its content server
    #: (files out).
    stores: ClassVar[tuple[str, ...]] = ("analytics-storage", "analytics-content")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AnalyticsSettings:
        notify = env.get("DERLINK_INTAKE_NOTIFY_TO")
        return cls(
            intake_interval_s=number(env, "DERLINK_INTAKE_INTERVAL_S", cls.intake_interval_s),
            intake_notify_to=(
                tuple(a.strip() for a in notify.split(",") if a.strip())
                if notify
                else cls.intake_notify_to
            ),
        )
