"""Unchanged rows are recognised in the importing process, by the hash imports always stored."""

from __future__ import annotations

import csv

import geopandas as gpd
import pyarrow as pa
import pytest
import shapely
from django.db import connection

from parcels import importing
from parcels.importing import MAPPABLE
from parcels.models import Parcel
from parcels.unchanged import KnownRows, apn_keys, record_texts, wkb_kinds
from tests.parcels.test_importing import county_frame, lot_ft, run, write

pytestmark = pytest.mark.django_db

# Every byte PostgreSQL's record_out quotes or escapes for, empty and NULL fields, non-ASCII
# white space (which it leaves alone), and text as the importer makes it from numbers.
HOSTILE = [
    None, "", " ", "plain", 'say "hi"', "back\\slash", "(paren)", "a,b", " lead", "trail ",
    "tab\there", "new\nline", "cr\rx", "vt\x0bx", "ff\x0cx", "café", "nbsp\u00a0x", "—",
    "🏠", "12.0", "NULL", '"', "\\", "()", ",",
]  # fmt: skip


def hostile_columns() -> list[pa.Array]:
    """Nine text columns, each a rotation of HOSTILE, so every value meets every position."""
    n = len(HOSTILE)
    return [pa.array([HOSTILE[(i + shift) % n] for i in range(n)], pa.string())
            for shift in range(len(MAPPABLE))]  # fmt: skip


def test_row_hash_is_the_one_postgresql_computed():
    """Hashes stored by earlier imports (computed in SQL) stay valid after the move to Python."""
    fields = hostile_columns()
    wkbs = pa.array(
        [None if i % 7 == 0 else shapely.to_wkb(lot_ft(i)) for i in range(len(HOSTILE))],
        pa.binary(),
    )
    fingerprint = "a6bfad9eb1acec563ba9494bfc52098d:2255"
    python = KnownRows.digests(record_texts(fields, fingerprint), wkbs)
    with connection.cursor() as cursor:
        columns = ", ".join(f"unnest(%s::text[]) AS f{i}" for i in range(len(MAPPABLE)))
        cursor.execute(
            f"""SELECT md5(convert_to(ROW(%s, {", ".join(f"f{i}" for i in range(9))})::text,
                                      'UTF8') || coalesce(w, '\\x'::bytea))
                FROM (SELECT {columns}, unnest(%s::bytea[]) AS w,
                             generate_series(1, %s) AS n) t ORDER BY n""",
            [fingerprint, *(f.to_pylist() for f in fields), wkbs.to_pylist(), len(HOSTILE)],
        )
        postgresql = [h for (h,) in cursor.fetchall()]
    assert [digest.hex() for digest in python] == postgresql


def test_keys_are_trimmed_of_spaces_only_like_btrim():
    keys = apn_keys(pa.array(["  164-010-001 ", "\t164\t", "   ", "", None], pa.string()))
    assert keys.to_pylist() == ["164-010-001", "\t164\t", None, None, None]


@pytest.mark.parametrize("byte_order", [0, 1])
def test_wkb_kinds_reads_either_byte_order_and_ignores_z(byte_order):
    polygon_z = shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 0, 1)])
    values = [
        shapely.to_wkb(lot_ft(0), byte_order=byte_order),
        shapely.to_wkb(polygon_z, byte_order=byte_order, flavor="iso", output_dimension=3),
        shapely.to_wkb(shapely.MultiPolygon([lot_ft(1)]), byte_order=byte_order),
        shapely.to_wkb(shapely.Point(1, 2), byte_order=byte_order),
        None,
        b"\x01\x03",
    ]
    assert wkb_kinds(pa.array(values, pa.binary())).tolist() == [3, 3, 6, 1, -1, -1]


def staged_rows() -> list[tuple]:
    """(row, key, whether outline and owner were sent) of each row in the staging table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_no, key, wkb IS NOT NULL AND owner_of_record IS NOT NULL"
            " FROM parcel_stage ORDER BY row_no"
        )
        return cursor.fetchall()


def import_again(frame: gpd.GeoDataFrame, tmp_path) -> tuple:
    """Import `frame` as the county's next file; return its run and what it staged."""
    seen = []
    again = run(
        write(frame, tmp_path / "v2.gpkg"),
        tmp_path,
        _after_staging=lambda: seen.extend(staged_rows()),
    )
    return again, seen


def test_unchanged_rows_are_not_sent(tmp_path):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    frame = county_frame()
    frame.loc[2, "owner"] = "COOPERATION JACKSON"

    second, seen = import_again(frame, tmp_path)

    assert seen == [(3, "164-010-002", True)]
    assert (second.changed, second.unchanged) == (1, 5)


def test_the_registry_holds_hand_made_parcels_for_retirement_only(tmp_path):
    """A parcel made by hand has no import hash: its APN in a file is a changed row (it differs
    from the row: staff typed no owner), and its absence from the file retires it like any
    other."""
    path = write(county_frame(), tmp_path / "v1.gpkg")
    run(path, tmp_path)
    Parcel.objects.filter(apn="164-010-002").update(import_hash="", owner_of_record="")
    Parcel.objects.create(jurisdiction="hinds-ms", apn="999-HAND-MADE")

    second = run(path, tmp_path)

    assert (second.new, second.changed, second.unchanged, second.retired) == (0, 1, 5, 1)
    assert Parcel.objects.get(apn="999-HAND-MADE").retired_at is not None


def test_a_parcel_whose_apn_staff_corrected_is_not_matched_by_its_hash(tmp_path):
    """The hash names the row's old APN: the row is a new parcel, the corrected one retired."""
    path = write(county_frame(), tmp_path / "v1.gpkg")
    run(path, tmp_path)
    Parcel.objects.filter(apn="164-010-003").update(apn="164-010-003A")

    second = run(path, tmp_path)

    assert (second.new, second.changed, second.unchanged, second.retired) == (1, 0, 5, 1)
    assert Parcel.objects.get(apn="164-010-003A").retired_at is not None
    assert Parcel.objects.get(apn="164-010-003").retired_at is None


def test_a_repeated_apn_is_rejected_even_when_its_first_copy_is_unchanged(tmp_path):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    frame = county_frame()
    copy = frame.iloc[[2]].assign(geometry=[lot_ft(9)])  # a second, different copy of row 3
    frame = gpd.GeoDataFrame([*frame.to_dict("records"), *copy.to_dict("records")], crs="EPSG:2255")

    second = run(write(frame, tmp_path / "v2.gpkg"), tmp_path)

    assert (second.new, second.changed, second.unchanged, second.retired) == (0, 0, 6, 0)
    assert second.rejected == 1
    with open(second.reject_file, encoding="utf-8") as f:
        text = f.read()
    assert "APN '164-010-002' appears more than once (rows 3, 7); the first is kept" in text


def test_an_unchanged_row_repeating_an_earlier_apn_is_sent_to_be_rejected(tmp_path):
    """Row 7 is an exact copy of row 3: both are unchanged by their hash, the second is a
    repeat. Only it is staged, as its row, fid and key, so the reject file can name it."""
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    frame = county_frame()
    frame = gpd.GeoDataFrame([*frame.to_dict("records"), frame.iloc[2].to_dict()], crs="EPSG:2255")

    second, seen = import_again(frame, tmp_path)

    assert seen == [(7, "164-010-002", False)]
    assert (second.new, second.changed, second.unchanged, second.retired) == (0, 0, 6, 0)
    assert second.rejected == 1
    with open(second.reject_file, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["row"], r["APN"], r["owner"]) for r in rows] == [
        ("7", "164-010-002", frame.iloc[6]["owner"])
    ]


def test_the_staged_kinds_name_the_first_row_of_each(tmp_path):
    staged = importing.Staged()
    staged.tally_kinds(wkb_kinds(pa.array([shapely.to_wkb(lot_ft(0))] * 3, pa.binary())), 0)
    point = shapely.to_wkb(shapely.Point(0, 0))
    staged.tally_kinds(wkb_kinds(pa.array([None, point, point], pa.binary())), 3)
    assert staged.kinds == {3: [3, 1], 1: [2, 5]}


def test_blank_apns_are_rejected_as_blank_however_many(tmp_path):
    """Blank APNs are no key: two of them are two blank rows, not a repeated APN."""
    frame = county_frame()
    frame.loc[[1, 4], "apn"] = ["   ", None]

    first = run(write(frame, tmp_path / "v1.gpkg"), tmp_path)

    assert (first.new, first.rejected) == (4, 2)
    with open(first.reject_file, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["row"], r["reason"]) for r in rows] == [("2", "blank APN"), ("5", "blank APN")]


def test_a_changed_first_copy_wins_over_a_later_unchanged_one(tmp_path):
    """The file's first row of an APN is kept even when a later, unchanged copy matches the
    registry: the parcel takes the first row, and the unchanged copy is the rejected repeat."""
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    frame = county_frame()
    changed = frame.iloc[2].to_dict() | {"owner": "COOPERATION JACKSON"}
    frame = gpd.GeoDataFrame([changed, *frame.to_dict("records")], crs="EPSG:2255")

    second = run(write(frame, tmp_path / "v2.gpkg"), tmp_path)

    assert (second.new, second.changed, second.unchanged, second.rejected) == (0, 1, 5, 1)
    assert Parcel.objects.get(apn="164-010-002").owner_of_record == "COOPERATION JACKSON"
    with open(second.reject_file, encoding="utf-8") as f:
        (rejected,) = list(csv.DictReader(f))
    assert (rejected["row"], rejected["owner"]) == ("4", "STATE OF MISSISSIPPI")
    assert "appears more than once (rows 1, 4)" in rejected["reason"]
