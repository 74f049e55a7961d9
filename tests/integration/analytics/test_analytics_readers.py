"""Reading measurement files: CSV, Parquet (whole and streamed) and Green Button XML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from derlink.analytics.errors import InputFileError, UnsortedMeasurements
from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.measurements.batches import iter_batches
from derlink.analytics.measurements.espi import read_espi
from derlink.analytics.measurements.parquet import iter_parquet_batches, write_frame_parquet
from derlink.analytics.measurements.readers import read_csv, read_measurements
from derlink.analytics.measurements.weather import read_weather

DATA = Path(__file__).parents[2] / "data" / "analytics"


def test_a_csv_with_offsets_is_read_in_utc_and_bad_rows_become_warnings_naming_them():
    log = WarningLog()
    frame = read_csv(DATA / "measurements.csv", log, naive_zone="America/Los_Angeles")
    sp1 = frame.filter(pl.col("sp_id") == "SP1")["start"].to_list()
    # the spring-forward night: 00:00 PST, 01:00 PST, 03:00 PDT are three consecutive hours
    assert sp1 == [datetime(2026, 3, 8, h, tzinfo=UTC) for h in (8, 9, 10)]
    sp2 = frame.filter(pl.col("sp_id") == "SP2")
    assert sp2.height == 3 and np.isnan(sp2["kwh"][2])  # a blank value is a missing value
    (bad,) = log.for_sp("SP2")
    assert (bad.qualified_name, bad.data["count"], bad.data["detail"]) == (
        sufficiency.BAD_ROW,
        1,
        "row 8",  # the file's line
    )
    # A naive local time, in the zone stated: 08:00 PDT.
    sp3 = frame.filter(pl.col("sp_id") == "SP3")["start"].to_list()
    assert sp3 == [datetime(2026, 3, 8, 15, tzinfo=UTC)]


def test_naive_timestamps_without_a_stated_zone_refuse_the_file_naming_the_first_row():
    with pytest.raises(InputFileError, match=r"1 timestamp\(s\) without a UTC offset.*row 9"):
        read_csv(DATA / "measurements.csv", WarningLog())


def test_naive_local_times_across_both_clock_changes(tmp_path):
    path = tmp_path / "local.csv"
    path.write_text(
        "sp_id,start,kwh\n"
        "A,2026-11-01 00:00:00,1\n"
        "A,2026-11-01 01:00:00,2\n"  # PDT
        "A,2026-11-01 01:00:00,3\n"  # the same local time again, now PST
        "A,2026-11-01 02:00:00,4\n"
        "B,2026-03-08 01:00:00,1\n"
        "B,2026-03-08 02:30:00,2\n"  # skipped by the clock: does not exist
        "B,2026-03-08 03:00:00,3\n"
    )
    log = WarningLog()
    frame = read_csv(path, log, naive_zone="America/Los_Angeles")
    a = frame.filter(pl.col("sp_id") == "A")
    assert a["start"].to_list() == [datetime(2026, 11, 1, h, tzinfo=UTC) for h in (7, 8, 9, 10)]
    assert a["kwh"].to_list() == [1, 2, 3, 4]
    (bad,) = log.for_sp("B")
    assert (bad.qualified_name, bad.data["detail"]) == (sufficiency.BAD_ROW, "row 7")
    assert frame.filter(pl.col("sp_id") == "B").height == 2


def test_a_file_without_a_needed_column_is_refused_clearly(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("sp_id,kwh\nA,1\n")
    with pytest.raises(InputFileError, match="lacks column"):
        read_csv(path)


def test_oracle_style_column_names_are_accepted(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("SPId,IntervalStartTime,KWH\nA,2026-07-01T00:00:00Z,1.5\n")
    assert read_csv(path)["kwh"].to_list() == [1.5]


def test_green_button_readings_become_kwh_of_the_usage_point():
    frame = read_espi(DATA / "green_button.xml")
    assert frame["sp_id"].unique().to_list() == ["SP-GB-1"]
    assert frame["kwh"].to_list() == pytest.approx([0.974, 0.965, 1.2105])
    assert frame["start"][0] == datetime(2026, 7, 1, tzinfo=UTC)
    assert read_measurements(DATA / "green_button.xml", None).height == 3


def test_green_button_with_a_dtd_is_refused(tmp_path):
    path = tmp_path / "evil.xml"
    path.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><feed/>')
    with pytest.raises(InputFileError, match="document type"):
        read_espi(path)


BILLION_LAUGHS = """<?xml version="1.0" encoding="{encoding}"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol9;</title></feed>
"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_billion_laughs_document_is_refused_before_any_expansion(tmp_path, encoding):
    # In UTF-16 no byte sequence spells "<!DOCTYPE": the parser itself must refuse it.
    path = tmp_path / "lolz.xml"
    path.write_bytes(BILLION_LAUGHS.format(encoding=encoding).encode(encoding))
    with pytest.raises(InputFileError, match="document type declaration or entities"):
        read_espi(path)


def frame_of(sps, hours=3):
    return pl.DataFrame(
        {
            "sp_id": [s for s in sps for _ in range(hours)],
            "start": [datetime(2026, 7, 1, h, tzinfo=UTC) for _ in sps for h in range(hours)],
            "kwh": [float(i) for i in range(len(sps) * hours)],
        }
    )


def test_parquet_written_by_derlink_streams_back_in_whole_service_points(tmp_path):
    path = tmp_path / "m.parquet"
    write_frame_parquet(frame_of(["A", "B", "C", "D", "E"]), path, sps_per_row_group=2)
    batches = list(iter_parquet_batches(path))
    assert [b.sp_ids.tolist() for b in batches] == [["A", "B"], ["C", "D"], ["E"]]
    assert batches[1].kwh.tolist() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]


def test_the_streaming_layout_has_required_columns_compressed_with_lz4(tmp_path):
    path = tmp_path / "m.parquet"
    frame = frame_of(["A", "B"]).with_columns(
        pl.when(pl.col("kwh") == 4.0).then(float("nan")).otherwise(pl.col("kwh")).alias("kwh")
    )
    write_frame_parquet(frame, path)
    schema = pq.read_schema(path)
    assert schema.field("kwh").type == pa.float64()
    assert not any(schema.field(name).nullable for name in ("sp_id", "start", "kwh"))
    columns = pq.ParquetFile(path).metadata.row_group(0)
    assert {columns.column(i).compression for i in range(3)} == {"LZ4"}
    (batch,) = list(iter_parquet_batches(path))
    assert np.isnan(batch.kwh[4])  # a missing value stays missing
    assert batch.kwh[[0, 1, 2, 3, 5]].tolist() == [0.0, 1.0, 2.0, 3.0, 5.0]


def test_single_precision_kwh_streams_as_it_is_stored(tmp_path):
    path = tmp_path / "m.parquet"
    table = frame_of(["A", "B"]).with_columns(pl.col("kwh") + 0.1).to_arrow()
    pq.write_table(table.set_column(2, "kwh", table.column("kwh").cast(pa.float32())), path)
    (batch,) = list(iter_parquet_batches(path))
    assert batch.kwh.dtype == np.float32  # widened to float64 only where computed with
    assert np.allclose(batch.kwh, [0.1, 1.1, 2.1, 3.1, 4.1, 5.1], rtol=1e-7)
    assert batch.to_frame()["kwh"].dtype == pl.Float64


def test_an_ordinary_parquet_file_streams_whatever_its_types(tmp_path):
    # Plain text ids, millisecond timestamps, nullable float64 with a null, zstd: as another
    # tool would write it.
    path = tmp_path / "m.parquet"
    table = pa.table(
        {
            "SPId": pa.array(["A"] * 3 + ["B"] * 3, pa.string()),
            "StartTime": pa.array(
                [datetime(2026, 7, 1, h, tzinfo=UTC) for _ in range(2) for h in range(3)],
                pa.timestamp("ms", tz="UTC"),
            ),
            "value": pa.array([1.0, None, 3.0, 4.0, 5.0, 6.0], pa.float64()),
        }
    )
    pq.write_table(table, path, compression="zstd", use_dictionary=False)
    (batch,) = list(iter_batches(path, 10))
    assert batch.sp_ids.tolist() == ["A", "B"]
    assert batch.kwh.dtype == np.float64
    assert np.isnan(batch.kwh[1]) and batch.kwh[[0, 2, 3, 4, 5]].tolist() == [1, 3, 4, 5, 6]
    assert batch.start_us[1] - batch.start_us[0] == 3_600_000_000


def test_a_service_point_split_across_row_groups_is_stitched_together(tmp_path):
    path = tmp_path / "m.parquet"
    table = frame_of(["A", "B", "C"], hours=4).to_arrow()
    pq.write_table(table, path, row_group_size=5)  # row groups cut through A, B and C
    batches = list(iter_parquet_batches(path, prefetch=False))
    joined = IntervalBatch(
        np.concatenate([b.sp_ids for b in batches]),
        np.asarray([0, 4, 8, 12]),
        np.concatenate([b.start_us for b in batches]),
        np.concatenate([b.kwh for b in batches]),
    )
    assert joined.sp_ids.tolist() == ["A", "B", "C"]
    assert all((b.counts() == 4).all() for b in batches)
    assert joined.kwh.tolist() == [float(i) for i in range(12)]


def test_a_parquet_file_not_grouped_by_service_point_is_read_whole_with_a_warning(tmp_path):
    path = tmp_path / "m.parquet"
    shuffled = pl.concat(
        [
            frame_of(["A"]),
            frame_of(["B"]),
            frame_of(["A"]).with_columns(pl.col("start").dt.offset_by("3h")),
        ]
    )
    pq.write_table(shuffled.to_arrow(), path, row_group_size=3)
    with pytest.raises(UnsortedMeasurements):
        list(iter_parquet_batches(path))
    log = WarningLog()
    batches = list(iter_batches(path, 10, log))
    assert batches[0].sp_ids.tolist() == ["A", "B"]
    assert batches[0].counts().tolist() == [6, 3]
    assert sufficiency.UNSORTED_FILE in log.names()


def test_rows_scattered_inside_one_row_group_are_grouped(tmp_path):
    path = tmp_path / "m.parquet"
    mixed = pl.concat(
        [
            frame_of(["A"]),
            frame_of(["B"]),
            frame_of(["A"]).with_columns(pl.col("start").dt.offset_by("3h")),
        ]
    )
    pq.write_table(mixed.to_arrow(), path)  # one row group: A, B, A
    (batch,) = list(iter_parquet_batches(path))
    assert batch.sp_ids.tolist() == ["A", "B"]
    assert batch.counts().tolist() == [6, 3]
    assert (np.diff(batch.start_us[:6]) > 0).all()


def test_a_naive_parquet_timestamp_is_refused_unless_its_zone_is_stated(tmp_path):
    path = tmp_path / "m.parquet"
    naive = pa.table(
        {
            "sp_id": ["A", "A"],
            "start": pa.array([0, 3_600_000_000], pa.timestamp("us")),
            "kwh": [1.0, 2.0],
        }
    )
    pq.write_table(naive, path)
    with pytest.raises(InputFileError, match="UTC"):
        list(iter_parquet_batches(path))
    with pytest.raises(InputFileError, match="--timestamps-zone"):
        read_measurements(path)
    (batch,) = list(iter_batches(path, 10, WarningLog(), "America/New_York"))
    assert batch.start_us.tolist() == [5 * 3_600_000_000, 6 * 3_600_000_000]  # EST: UTC-5


@pytest.mark.parametrize(
    ("header", "value", "expected_f"),
    [
        ("station_id,start,temperature_f", "68", 68.0),
        ("StationId,Timestamp,Temperature (°F)", "68", 68.0),
        ("station,time,tmpf", "68", 68.0),
        ("Station,DateTime,Temp (C)", "20", 68.0),
        ("WEATHER_STATION,valid,tmpc", "20", 68.0),
    ],
)
def test_weather_columns_are_found_under_their_usual_names(tmp_path, header, value, expected_f):
    path = tmp_path / "weather.csv"
    path.write_text(f"{header}\nWS1,2026-07-01T12:00:00Z,{value}\n")
    weather = read_weather(path)
    assert weather.station_ids == ("WS1",)
    assert weather.temperature_f[0, 0] == pytest.approx(expected_f)


def test_a_weather_temperature_without_its_unit_is_refused(tmp_path):
    path = tmp_path / "weather.csv"
    path.write_text("station_id,start,temperature\nWS1,2026-07-01T12:00:00Z,20\n")
    with pytest.raises(InputFileError, match="temperature with its unit"):
        read_weather(path)


def test_naive_weather_timestamps_take_the_stated_zone_or_refuse_the_file(tmp_path):
    path = tmp_path / "weather.csv"
    path.write_text("station_id,start,temperature_f\nWS1,2026-07-01 05:00:00,70\n")
    with pytest.raises(InputFileError, match="--timestamps-zone"):
        read_weather(path)
    weather = read_weather(path, "America/Los_Angeles")
    assert weather.start_us == int(datetime(2026, 7, 1, 12, tzinfo=UTC).timestamp()) * 1_000_000


def test_weather_rows_that_cannot_be_read_are_named_by_station_and_row(tmp_path):
    path = tmp_path / "weather.csv"
    path.write_text(
        "station_id,start,temperature_f\n"
        "WS1,2026-07-01T12:00:00Z,70\n"
        "WS1,2026-07-01T13:00:00Z,\n"  # no temperature
        "WS2,yesterday,71\n"  # no time
        "WS2,2026-07-01T13:00:00Z,72\n"
    )
    log = WarningLog()
    weather = read_weather(path, warnings=log)
    assert weather.station_ids == ("WS1", "WS2")
    named = {
        (w.qualified_name, sp, w.data["detail"]) for sp in ("WS1", "WS2") for w in log.for_sp(sp)
    }
    assert named == {
        (sufficiency.WEATHER_BAD_ROW, "WS1", "row 3"),
        (sufficiency.WEATHER_BAD_ROW, "WS2", "row 4"),
    }


def test_green_button_readings_skipped_are_named_by_their_start(tmp_path):
    path = tmp_path / "gb.xml"
    text = (DATA / "green_button.xml").read_text()
    path.write_text(text.replace("<value>965000</value>", ""))
    log = WarningLog()
    frame = read_espi(path, warnings=log)
    assert frame.height == 2
    (bad,) = log.for_sp("SP-GB-1")
    assert (bad.qualified_name, bad.data["count"], bad.data["detail"]) == (
        sufficiency.BAD_ROW,
        1,
        "2026-07-01T01:00:00Z (no start or value)",
    )
