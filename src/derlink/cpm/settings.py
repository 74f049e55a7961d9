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

    #: The file stores cpm owns: its content server, where enrollment extracts and score files
    #: are written and participation-history files are taken from.
    stores: ClassVar[tuple[str, ...]] = ("cpm-content",)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CpmSettings:
        return cls(
            extract_interval_s=number(
                env, "DERLINK_EXTRACT_INTERVAL_S", cls.extract_interval_s, at_least=0
            ),
            score_interval_s=number(
                env, "DERLINK_SCORE_INTERVAL_S", cls.score_interval_s, at_least=0
            ),
        )
