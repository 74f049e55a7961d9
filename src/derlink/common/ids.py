"""Identifiers: time-ordered, so that newer records sort after older ones."""

from __future__ import annotations

import os
import time


def new_id(prefix: str = "") -> str:
    """A 26-character, time-ordered, random identifier (UUIDv7 layout, hex encoded)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}{ms:012x}{rand:020x}"[: len(prefix) + 26]
