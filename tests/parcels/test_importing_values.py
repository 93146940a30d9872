"""A county's tax codes and dollar amounts are read as the clerk who wrote them meant them."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
import shapely

from parcels import importing
from parcels.models import Parcel
from tests.parcels.test_importing import county_frame, rejects, run, write

pytestmark = pytest.mark.django_db

APNS = [f"164-010-{i:03d}" for i in range(7)]


def tax_statuses() -> dict[str, str]:
    return dict(Parcel.objects.order_by("apn").values_list("apn", "tax_status"))


# --- tax status: a yes/no column's "F" is not forfeited ------------------------------------


def tf_shapefile(tmp_path: Path) -> Path:
    """The clerk's shapefile: TAX_DELQ holds T or F."""
    frame = county_frame().drop(columns="tax_delinquent")
    return write(frame.assign(TAX_DELQ=["F", "F", "F", "F", "T", "F"]), tmp_path / "p.shp")


def tfny_csv(tmp_path: Path) -> Path:
    """A CSV whose TAX_DELQ says T, F, N or Y."""
    frame = county_frame().drop(columns="tax_delinquent").to_crs(4326)
    frame = frame.assign(TAX_DELQ=["Y", "F", "N", "F", "T", " f "])
    path = tmp_path / "p.csv"
    frame.drop(columns="geometry").assign(WKT=shapely.to_wkt(frame.geometry.values)).to_csv(
        path, index=False
    )
    return path


@pytest.mark.parametrize(
    "make, delinquent",
    [(tf_shapefile, ["164-010-004"]), (tfny_csv, ["164-010-000", "164-010-004"])],
    ids=["shapefile T/F", "csv T/F/N/Y"],
)
def test_f_in_a_yes_no_tax_column_means_not_delinquent(tmp_path, make, delinquent):
    source = make(tmp_path)
    said = []

    result = run(source, tmp_path, srid=4326 if source.suffix == ".csv" else None,
                 log=said.append)  # fmt: skip

    assert result.status == "succeeded"
    expected = {apn: "delinquent" if apn in delinquent else "current" for apn in APNS[:6]}
    expected["164-010-002"] = "forfeited"  # the State owns it
    assert tax_statuses() == expected
    (line,) = [s for s in said if "tax status from" in s]
    assert line.startswith("clt: tax status from TAX_DELQ, read as a yes/no flag: ")
    assert "F = current" in line


def test_f_in_a_status_code_column_means_forfeited_and_each_code_is_told(tmp_path):
    frame = county_frame().drop(columns="tax_delinquent")
    frame = frame.assign(TAX_STATUS=["C", "F", "C", "D", "F", "C"])
    said = []

    run(write(frame, tmp_path / "p.gpkg"), tmp_path, log=said.append)

    assert tax_statuses() == {
        "164-010-000": "current", "164-010-001": "forfeited", "164-010-002": "forfeited",
        "164-010-003": "delinquent", "164-010-004": "forfeited", "164-010-005": "current",
    }  # fmt: skip
    assert "clt: tax status from TAX_STATUS, read as status codes: C = current (3), " \
           "F = forfeited (2), D = delinquent (1)" in said  # fmt: skip


def test_new_reading_rules_re_derive_every_parcel(tmp_path, monkeypatch):
    """A parcel read by older rules (its "F" forfeited) is read again, though its row is not
    changed: the rules are part of each row's hash. One they read as before is unchanged."""
    source = tf_shapefile(tmp_path)
    run(source, tmp_path)
    # As the older rules read the file: the five "F" forfeited, the "T" delinquent.
    Parcel.objects.exclude(apn="164-010-004").update(tax_status="forfeited")
    monkeypatch.setattr(importing, "READING_RULES", importing.READING_RULES + 1)

    again = run(source, tmp_path)

    # The State's own lot stays forfeited, by its owner: read as before, with the "T".
    assert (again.changed, again.unchanged) == (4, 2)
    assert dict(Parcel.objects.values_list("apn", "tax_status")) == {
        "164-010-000": "current", "164-010-001": "current", "164-010-002": "forfeited",
        "164-010-003": "current", "164-010-004": "delinquent", "164-010-005": "current",
    }  # fmt: skip


# --- amounts as a spreadsheet writes them ------------------------------------------------


def values_csv(path: Path, land: list[str], improvement: list[str]) -> Path:
    """The county's lots as a CSV (degrees, WKT) with LAND_VAL and IMPR_VAL written as given,
    one lot for each value."""
    frame = county_frame(len(APNS) - 1).to_crs(4326)
    wkt = [*shapely.to_wkt(frame.geometry.values), "POLYGON((-90.19 32.3,-90.1899 32.3,"
           "-90.1899 32.3001,-90.19 32.3001,-90.19 32.3))"]  # fmt: skip
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["APN", "LAND_VAL", "IMPR_VAL", "WKT"])
        writer.writerows(zip(APNS[: len(land)], land, improvement, wkt, strict=False))
    return path


def amounts() -> dict[str, tuple]:
    return {apn: (land, improvement) for apn, land, improvement in Parcel.objects.order_by("apn")
            .values_list("apn", "assessed_land", "assessed_improvement")}  # fmt: skip


def test_dollar_signs_and_thousands_separators_are_read_as_amounts(tmp_path):
    land = ["$12,500", "1,234.5", "", " 7500 ", "12500.00", "$ 1,234,567.891"]
    improvement = ["USD 62000", "12,500.00", "0", "210000", "$0.50", "48,000"]
    source = values_csv(tmp_path / "values.csv", land, improvement)

    result = run(source, tmp_path, srid=4326)

    assert (result.status, result.new, result.rejected, result.message) == (
        "succeeded", 6, 0, ""
    )  # fmt: skip
    D = Decimal
    assert amounts() == {
        "164-010-000": (D("12500.00"), D("62000.00")),
        "164-010-001": (D("1234.50"), D("12500.00")),
        "164-010-002": (None, D("0.00")),
        "164-010-003": (D("7500.00"), D("210000.00")),
        "164-010-004": (D("12500.00"), D("0.50")),
        "164-010-005": (D("1234567.89"), D("48000.00")),
    }


def test_a_value_that_is_not_an_amount_keeps_the_one_on_record_and_is_reported(tmp_path):
    run(values_csv(tmp_path / "first.csv", ["4500"] * 6, ["62000"] * 6), tmp_path, srid=4326)
    land = ["N/A", "$12,500", "", "12.5.3", "-5", "5000", "N/A"]  # the last: a new parcel
    improvement = ["0", "1,000", "0", "0", "(500)", "0", "0"]
    source = values_csv(tmp_path / "values.csv", land, improvement)

    result = run(source, tmp_path, srid=4326)

    assert (result.status, result.new, result.changed, result.rejected) == (
        "succeeded", 1, 6, 0
    )  # fmt: skip
    D = Decimal
    assert amounts() == {
        "164-010-000": (D("4500.00"), D("0.00")),  # kept: 'N/A' is a mistake in the file
        "164-010-001": (D("12500.00"), D("1000.00")),
        "164-010-002": (None, D("0.00")),  # an empty cell says there is no value
        "164-010-003": (D("4500.00"), D("0.00")),
        "164-010-004": (D("4500.00"), D("62000.00")),
        "164-010-005": (D("5000.00"), D("0.00")),
        "164-010-006": (None, D("0.00")),  # new: nothing on record to keep
    }
    assert result.message.splitlines() == [
        "warning: 4 values of LAND_VAL (assessed_land) are not amounts of money and were not "
        "read: row 1 'N/A', row 4 '12.5.3', row 5 '-5', row 7 'N/A'. Each such parcel keeps the "
        "assessed_land it had on record (a new parcel has none); all are listed in the reject "
        "file. Correct the file and import it again",
        "warning: 1 value of IMPR_VAL (assessed_improvement) is not an amount of money and was "
        "not read: row 5 '(500)'. Each such parcel keeps the assessed_improvement it had on "
        "record (a new parcel has none); all are listed in the reject file. Correct the file "
        "and import it again",
    ]
    assert [(r["row"], r["APN"], r["outcome"], r["reason"], r["LAND_VAL"])
            for r in rejects(result)] == [
        ("1", "164-010-000", "value not read",
         "LAND_VAL 'N/A' is not an amount of money; assessed_land kept at 4500.00", "N/A"),
        ("4", "164-010-003", "value not read",
         "LAND_VAL '12.5.3' is not an amount of money; assessed_land kept at 4500.00", "12.5.3"),
        ("5", "164-010-004", "value not read",
         "LAND_VAL '-5' is not an amount of money; assessed_land kept at 4500.00", "-5"),
        ("5", "164-010-004", "value not read",
         "IMPR_VAL '(500)' is not an amount of money; assessed_improvement kept at 62000.00",
         "-5"),
        ("7", "164-010-006", "value not read",
         "LAND_VAL 'N/A' is not an amount of money; assessed_land left empty (none on record)",
         "N/A"),
    ]  # fmt: skip
