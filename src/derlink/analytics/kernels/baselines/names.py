"""The baseline methods by name, without loading them: what a command's help and its refusal of
an unknown name list. ``methods.METHODS`` is the same list, from the methods themselves."""

from __future__ import annotations

#: The regression's name.
CALTRACK_HOURLY = "caltrack-hourly"

#: The X-of-Y presets' names (``rules.PRESETS``), sorted.
PRESET_NAMES = ("caiso-10-in-10", "nyiso-5-of-10", "pjm-high-4-of-5")

#: Every method a run takes, by name.
METHOD_NAMES = (*PRESET_NAMES, CALTRACK_HOURLY)
