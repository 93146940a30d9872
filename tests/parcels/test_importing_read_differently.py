"""A county file written differently but saying the same is no change: a renamed column, or
new rules for reading a row, leave every parcel unchanged, with no history event.

A tester re-imported a million-parcel county whose next file renamed `owner` to `owner_name`:
999,008 parcels "changed", a million history events, 2 min 12 s, for some 4,000 real changes.
"""

from __future__ import annotations

import csv

import pytest
from django.apps import apps
from django.db import connection

from parcels import importing
from parcels.models import Parcel
from tests.parcels.test_importing import county_frame, run, write

pytestmark = pytest.mark.django_db

ParcelEvent = apps.get_model("parcels", "ParcelEvent")


def counts(result) -> tuple[int, int, int, int]:
    return (result.new, result.changed, result.unchanged, result.retired)


def values() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT apn, address, owner_of_record, land_use, zoning, assessed_land,
                      assessed_improvement, vacancy_status, tax_status, ST_AsEWKB(geom),
                      source_file, import_run_id
               FROM parcels_parcel ORDER BY apn"""
        )
        return cursor.fetchall()


def test_a_renamed_column_changes_no_parcel(tmp_path):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    before, events = values(), ParcelEvent.objects.count()

    renamed = county_frame().rename(columns={"owner": "owner_name"})
    again = run(write(renamed, tmp_path / "v2.gpkg"), tmp_path)

    assert again.mapping["columns"]["owner_of_record"] == "owner_name"  # read all the same
    assert counts(again) == (0, 0, 6, 0)
    assert values() == before  # nothing written, not even where it was last imported from
    assert ParcelEvent.objects.count() == events


def test_new_reading_rules_leave_a_parcel_they_read_the_same_unchanged(tmp_path, monkeypatch):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    before, events = values(), ParcelEvent.objects.count()
    hashes = dict(Parcel.objects.values_list("apn", "import_hash"))
    monkeypatch.setattr(importing, "READING_RULES", importing.READING_RULES + 1)

    frame = county_frame()
    frame.loc[0, "owner"] = "JOHNSON WILLIE"  # the one real change
    second = run(write(frame, tmp_path / "v2.gpkg"), tmp_path)

    assert counts(second) == (0, 1, 5, 0)
    assert ParcelEvent.objects.count() == events + 1  # the owner's change only
    changed = Parcel.objects.get(apn="164-010-000")
    assert changed.owner_of_record == "JOHNSON WILLIE"
    assert [row for row in values() if row[0] != changed.apn] == before[1:]
    # Each keeps its row's new hash, so the next import finds the rows by it, and sends none.
    assert all(p.import_hash != hashes[p.apn] for p in Parcel.objects.all())
    third = run(write(frame, tmp_path / "v3.gpkg"), tmp_path)
    assert counts(third) == (0, 0, 6, 0)
    assert ParcelEvent.objects.count() == events + 1


def test_a_repaired_outline_read_again_the_same_is_not_reported_again(tmp_path, monkeypatch):
    import shapely

    frame = county_frame(2)
    x0, y0, x1, y1 = frame.geometry[1].bounds
    frame.loc[1, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # bowtie
    first = run(write(frame, tmp_path / "v1.gpkg"), tmp_path)
    assert first.repaired == 1
    monkeypatch.setattr(importing, "READING_RULES", importing.READING_RULES + 1)

    again = run(write(frame, tmp_path / "v2.gpkg"), tmp_path)

    assert counts(again) == (0, 0, 2, 0) and again.repaired == 0
    if again.reject_file:
        with open(again.reject_file, newline="") as listed:
            assert not [row for row in csv.DictReader(listed) if row.get("apn") == frame.apn[1]]
