"""Green Button (NAESB REQ.21 ESPI) XML: interval readings of one or many usage points.

An ESPI download is an Atom feed whose entries hold a ``UsagePoint``, its ``MeterReading``s, the
``ReadingType`` of each (unit, power-of-ten multiplier, flow direction) and ``IntervalBlock``s
of ``IntervalReading``s (``timePeriod/start`` in epoch seconds UTC, ``duration``, ``value``).
Entries are tied together by their Atom links (``.../UsagePoint/{u}/MeterReading/{m}``), which is
how this reader finds the reading type of each block.

Only delivered energy (``flowDirection`` 1) in watt-hours (``uom`` 72) becomes kWh; other
readings are skipped with a warning. The XML is parsed by ``defusedxml`` with document type
declarations forbidden: a file declaring a DTD or an entity (an entity expansion bomb, an
external entity) is refused before anything in it is expanded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from derlink.analytics.errors import InputFileError
from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.intervals import MEASUREMENT_SCHEMA
from derlink.analytics.kernels.sufficiency import WarningLog

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"
UOM_WATT_HOUR = 72  # ESPI UnitSymbolKind 72: Wh
FLOW_FORWARD = 1  # ESPI FlowDirectionKind 1: delivered to the customer
_USAGE_POINT = re.compile(r"UsagePoint/([^/]+)")
_METER_READING = re.compile(r"(UsagePoint/[^/]+/MeterReading/[^/]+)")
_READING_TYPE = re.compile(r"(ReadingType/[^/]+)$")


@dataclass(frozen=True)
class _ReadingType:
    uom: int
    multiplier: int
    flow_direction: int


def _int(element: ET.Element | None, tag: str, default: int) -> int:
    if element is None:
        return default
    found = element.find(ESPI + tag)
    if found is None or found.text is None:
        return default
    return int(found.text.strip())


def _links(entry: ET.Element) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for link in entry.findall(ATOM + "link"):
        links.setdefault(link.get("rel", ""), []).append(link.get("href", ""))
    return links


def _when(item: ET.Element, why: str) -> str:
    """A skipped reading named by its start (UTC) and why it was skipped."""
    start = _int(item.find(ESPI + "timePeriod"), "start", -1)
    at = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if start >= 0 else "?"
    return f"{at} ({why})"


def _first(labels: list[str]) -> str:
    shown = labels[: sufficiency.DETAIL_EXAMPLES]
    return ", ".join(shown) + (", …" if len(labels) > len(shown) else "")


def _parse(path: Path) -> ET.Element:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path.name}: cannot read: {exc}") from exc
    try:
        root: ET.Element = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputFileError(
            f"{path.name}: XML with a document type declaration or entities is refused ({exc})"
        ) from exc
    except ET.ParseError as exc:
        raise InputFileError(f"{path.name}: not well-formed XML: {exc}") from exc
    return root


def read_espi(
    path: Path, sp_id: str | None = None, warnings: WarningLog | None = None
) -> pl.DataFrame:
    """Read a Green Button file into the long frame ``sp_id, start, kwh``.

    ``sp_id`` names the service point when the file holds one usage point whose identifier is
    not the utility's; otherwise each usage point's id (from its Atom link) is the ``sp_id``.
    """
    log = warnings if warnings is not None else WarningLog()
    root = _parse(path)
    entries = root.findall(ATOM + "entry") if root.tag == ATOM + "feed" else [root]
    reading_types: dict[str, _ReadingType] = {}
    meter_reading_type: dict[str, str] = {}
    blocks: list[tuple[str, str, ET.Element]] = []
    for entry in entries:
        content = entry.find(ATOM + "content")
        if content is None:
            continue
        links = _links(entry)
        hrefs = links.get("self", []) + links.get("up", [])
        for child in content:
            if child.tag == ESPI + "ReadingType":
                for href in links.get("self", []):
                    match = _READING_TYPE.search(href)
                    if match:
                        reading_types[match.group(1)] = _ReadingType(
                            _int(child, "uom", UOM_WATT_HOUR),
                            _int(child, "powerOfTenMultiplier", 0),
                            _int(child, "flowDirection", FLOW_FORWARD),
                        )
            elif child.tag == ESPI + "MeterReading":
                reading = next((m.group(1) for h in hrefs if (m := _METER_READING.search(h))), None)
                related = next(
                    (
                        m.group(1)
                        for h in links.get("related", [])
                        if (m := _READING_TYPE.search(h))
                    ),
                    None,
                )
                if reading is not None and related is not None:
                    meter_reading_type[reading] = related
            elif child.tag == ESPI + "IntervalBlock":
                reading = next((m.group(1) for h in hrefs if (m := _METER_READING.search(h))), "")
                found = _USAGE_POINT.search(reading)
                blocks.append((found.group(1) if found else "", reading, child))
    sp_ids: list[str] = []
    starts: list[int] = []
    values: list[float] = []
    skipped: dict[str, list[str]] = {}
    default_type = (
        next(iter(reading_types.values()))
        if len(reading_types) == 1
        else _ReadingType(UOM_WATT_HOUR, 0, FLOW_FORWARD)
    )
    for point, reading, block in blocks:
        name = sp_id or point or path.stem
        kind = reading_types.get(meter_reading_type.get(reading, ""), default_type)
        readings = block.findall(ESPI + "IntervalReading")
        if kind.uom != UOM_WATT_HOUR or kind.flow_direction != FLOW_FORWARD:
            what = f"uom {kind.uom}, flow {kind.flow_direction}"
            skipped.setdefault(name, []).extend(_when(item, what) for item in readings)
            continue
        scale = 10.0**kind.multiplier / 1000.0  # Wh × 10^multiplier → kWh
        for item in readings:
            period = item.find(ESPI + "timePeriod")
            value = item.find(ESPI + "value")
            start = _int(period, "start", -1)
            if start < 0 or value is None or value.text is None:
                skipped.setdefault(name, []).append(_when(item, "no start or value"))
                continue
            sp_ids.append(name)
            starts.append(start * 1_000_000)
            values.append(float(value.text) * scale)
    if skipped:
        log.add(
            sufficiency.BAD_ROW,
            "ESPI readings skipped: not delivered Wh, or without a start or a value",
            list(skipped),
            np.asarray([len(v) for v in skipped.values()]),
            [_first(v) for v in skipped.values()],
        )
    return pl.DataFrame(
        {
            "sp_id": sp_ids,
            "start": pl.Series(starts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "kwh": values,
        },
        schema=MEASUREMENT_SCHEMA,
    )
