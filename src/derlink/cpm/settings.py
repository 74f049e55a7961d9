"""cpm's own settings, read from the environment with embedded defaults (docs/configuration.md).
The platform composes them with every other part's (platform/settings.py ``Settings.part``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from derlink.platform.settings import number


@dataclass(frozen=True)
class CpmSettings:
    #: The incremental enrollment extract: seconds between runs, 0 for never (CLI/API only).
    extract_interval_s: float = 0.0
    #: The device-score run (history intake, scores, the SDCSE file): seconds between runs, 0
    #: for never (CLI/API only).
    score_interval_s: float = 0.0

    #: How often cpm looks for NET-LOC files in its object storage, in seconds (0: never; the
    #: API still runs the intake on demand).
    netloc_intake_interval_s: float = 5.0
    #: Who hears of an entry of the object storage the intake cannot take: the technical
    #: recipients.
    netloc_notify_to: tuple[str, ...] = ("integration-ops@utility.example",)

    #: The file stores cpm owns: its content server, where enrollment extracts, score files and
    #: NET-LOC acknowledgements are written and participation-history files are taken from, and
    #: its object storage, where NET-LOC files arrive.
    stores: ClassVar[tuple[str, ...]] = ("cpm-content", "cpm-storage")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CpmSettings:
        notify = env.get("DERLINK_NETLOC_NOTIFY_TO")
        return cls(
            extract_interval_s=number(
                env, "DERLINK_EXTRACT_INTERVAL_S", cls.extract_interval_s, at_least=0
            ),
            netloc_intake_interval_s=number(
                env, "DERLINK_NETLOC_INTAKE_INTERVAL_S", cls.netloc_intake_interval_s, at_least=0
            ),
            score_interval_s=number(
                env, "DERLINK_SCORE_INTERVAL_S", cls.score_interval_s, at_least=0
            ),
            netloc_notify_to=(
                tuple(a.strip() for a in notify.split(",") if a.strip())
                if notify
                else cls.netloc_notify_to
            ),
        )
