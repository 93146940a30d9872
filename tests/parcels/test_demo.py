"""The demo West Jackson neighbourhood loads whole, and says so when a file is wrong."""

import json
import shutil

import pytest

from parcels.demo import DEMO_DIR, DemoDataError, load_demo_neighbourhood
from parcels.models import Holding, Improvement, Parcel

pytestmark = pytest.mark.django_db

EXPECTED = json.loads((DEMO_DIR / "expected.json").read_text())


def test_demo_loads_every_parcel_holding_and_event():
    summary = load_demo_neighbourhood()
    assert summary.parcels == EXPECTED["parcel_count"] == Parcel.objects.count()
    assert summary.holdings == EXPECTED["holding_count"] == Holding.objects.count()
    assert summary.improvements == EXPECTED["improvement_count"]
    assert summary.acquisition_events == EXPECTED["acquisition_event_count"]
    assert Parcel.objects.vacant().count() == EXPECTED["vacant_count"]
    assert Parcel.objects.held_by_trust().count() == EXPECTED["held_parcel_count"]
    assert Parcel.objects.filter(tax_status="forfeited").count() == EXPECTED["forfeited_count"]


def test_demo_farm_is_seven_acres_measured_by_the_database():
    load_demo_neighbourhood()
    farm = Holding.objects.get(name="Freedom Farm")
    assert sorted(farm.parcels.values_list("apn", flat=True)) == sorted(EXPECTED["farm"]["apns"])
    assert farm.area_m2() == pytest.approx(EXPECTED["farm"]["area_m2"], rel=1e-3)
    assert farm.area_m2() / 4046.8564224 == pytest.approx(7.0, abs=0.05)


def test_demo_keeps_its_multipolygon_parcel():
    load_demo_neighbourhood()
    for apn in EXPECTED["multipolygon_apns"]:
        assert Parcel.objects.get(apn=apn).geom.num_geom == 2


def test_demo_dwelling_units_add_up():
    load_demo_neighbourhood()
    units = sum(Improvement.objects.values_list("dwelling_units", flat=True))
    assert units == EXPECTED["dwelling_units"]


def test_reloading_the_demo_replaces_it_rather_than_doubling_it():
    load_demo_neighbourhood()
    load_demo_neighbourhood()
    assert Parcel.objects.count() == EXPECTED["parcel_count"]
    assert Holding.objects.count() == EXPECTED["holding_count"]


def test_a_bad_row_names_the_file_and_row_and_loads_nothing(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    holdings = (folder / "holdings.csv").read_text().splitlines()
    fields = holdings[3].split(",")
    fields[3] = "2019-13-45"  # acquired_on
    holdings[3] = ",".join(fields)
    (folder / "holdings.csv").write_text("\n".join(holdings) + "\n")

    with pytest.raises(DemoDataError, match=r"holdings.csv row 4 acquired_on: '2019-13-45'"):
        load_demo_neighbourhood(folder)
    assert Parcel.objects.count() == 0  # all or nothing


def test_an_apn_missing_from_the_parcels_is_reported(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    with (folder / "acquisitions.csv").open("a") as f:
        f.write("999-999-999,prospect,2024-01-01,\n")
    with pytest.raises(DemoDataError, match="APN '999-999-999' is not in parcels.geojson"):
        load_demo_neighbourhood(folder)
