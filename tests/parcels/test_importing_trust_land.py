"""A county file that no longer names trust land still retires it, and says so loudly."""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import geopandas as gpd
import pytest
from django.db import transaction

from parcels import importing
from parcels.models import HoldingParcel, ImportRun, Parcel
from tests import factories
from tests.parcels.test_importing import (
    cli,
    county_frame,
    lot_ft,
    registry_checksum,
    run,
    write,
)

pytestmark = pytest.mark.django_db

RENUMBERED = (
    "  164-010-002, 1104 W Capitol St (held by 'Garden lot') looks renumbered as "
    "164-010-902: move the holding to the new parcel"
)
DROPPED = (
    "  164-010-005, 1110 W Capitol St (held by 'Home at 1110', lease GL-2017-105 in force): "
    "no parcel new in this file covers it; ask the county what became of it"
)


def frame_of(records: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(records, crs="EPSG:2255")


@pytest.fixture
def trust_land_renumbered_and_dropped(tmp_path) -> Path:
    """Six lots on record: the trust holds 164-010-002 (a garden lot) and 164-010-005 (a home
    under lease). The county's next file renumbers the lot as 164-010-902, its outline redrawn
    a little (145 ft deep, not 150), and no longer has the home nor 164-010-004 (not trust
    land)."""
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    factories.holding(parcels=[Parcel.objects.get(apn="164-010-002")], name="Garden lot")
    home = factories.holding(parcels=[Parcel.objects.get(apn="164-010-005")], name="Home at 1110")
    factories.lease(holding_=home, reference="GL-2017-105")

    frame = county_frame()
    frame.loc[2, "apn"] = "164-010-902"
    frame.loc[2, "geometry"] = lot_ft(2, depth=145)
    return write(frame.drop(index=[4, 5]), tmp_path / "v2.gpkg")


def test_retiring_trust_land_warns_naming_each_parcel_its_holding_lease_and_renumbering(
    trust_land_renumbered_and_dropped, tmp_path
):
    result = cli("import-parcels", str(trust_land_renumbered_and_dropped), "--quiet",
                 "--rejects-dir", str(tmp_path / "rejects"))  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "4 read, 1 new, 0 changed, 3 unchanged, 3 retired" in result.output
    assert (
        "clt: warning: the county's file no longer names 2 parcels the trust holds; this "
        "import retired them, and their holdings still point at them:\n"
        f"{RENUMBERED}\n{DROPPED}\n"
    ) in result.output
    assert "164-010-004" not in result.output  # retired too, but not trust land


def test_trust_land_is_retired_all_the_same_and_the_run_keeps_the_warnings(
    trust_land_renumbered_and_dropped, tmp_path
):
    result = run(trust_land_renumbered_and_dropped, tmp_path)

    assert (result.status, result.retired) == ("succeeded", 3)
    assert ImportRun.objects.get(pk=result.pk).message.splitlines()[1:] == [RENUMBERED, DROPPED]
    retired = Parcel.objects.filter(retired_at__isnull=False).order_by("apn")
    assert [p.apn for p in retired] == ["164-010-002", "164-010-004", "164-010-005"]
    still_held = HoldingParcel.objects.filter(ended_on__isnull=True).order_by("parcel__apn")
    assert [m.parcel.apn for m in still_held] == ["164-010-002", "164-010-005"]


def test_a_dry_run_shows_the_same_trust_land_warning_and_writes_nothing(
    trust_land_renumbered_and_dropped, tmp_path
):
    before = registry_checksum()

    result = cli("import-parcels", str(trust_land_renumbered_and_dropped), "--dry-run",
                 "--quiet", "--rejects-dir", str(tmp_path / "rejects"))  # fmt: skip

    assert result.exit_code == 0, result.output
    assert (
        "clt: warning: the county's file no longer names 2 parcels the trust holds; this "
        "import would retire them, and their holdings would still point at them:\n"
        f"{RENUMBERED}\n{DROPPED}\n"
    ) in result.output
    assert registry_checksum() == before
    dry = ImportRun.objects.latest("started_at")
    assert dry.status == "dry_run"
    assert dry.message.splitlines()[1:] == [RENUMBERED, DROPPED]


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_during_the_commit_still_shows_the_trust_land_warning(
    trust_land_renumbered_and_dropped, tmp_path, monkeypatch
):
    real_import = importing.import_parcels

    def interrupted_at_commit(*args, **kwargs):
        hook = lambda: transaction.on_commit(lambda: signal.raise_signal(signal.SIGINT))  # noqa: E731
        return real_import(*args, **kwargs, _after_staging=hook)

    monkeypatch.setattr(importing, "import_parcels", interrupted_at_commit)
    result = cli("import-parcels", str(trust_land_renumbered_and_dropped), "--quiet",
                 "--rejects-dir", str(tmp_path / "rejects"))  # fmt: skip

    assert result.exit_code == 1
    assert "the import was committed" in result.output
    assert result.output.endswith(f"{RENUMBERED}\n{DROPPED}\n")


def test_a_split_is_not_taken_for_a_renumbering(tmp_path):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    factories.holding(parcels=[Parcel.objects.get(apn="164-010-005")], name="Farm plot")
    frame = county_frame(5)
    halves = [
        {**frame.iloc[4].to_dict(), "apn": f"164-010-90{i}", "geometry": lot_ft(10 + i, width=50)}
        for i in (0, 1)
    ]  # two new lots, each on half of the farm plot's 100 ft frontage
    source = write(frame_of([*frame.to_dict("records"), *halves]), tmp_path / "v2.gpkg")

    result = run(source, tmp_path)

    assert result.message.splitlines()[1:] == [
        "  164-010-005, 1110 W Capitol St (held by 'Farm plot'): no parcel new in this file "
        "covers it; ask the county what became of it"
    ]


def test_only_parcels_the_trust_holds_today_are_warned_of(tmp_path):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    apn = {p.apn: p for p in Parcel.objects.all()}
    home = factories.holding(parcels=[apn["164-010-000"]], name="Home at 1100")
    factories.lease(holding_=home, reference="GL-2017-100", status="terminated",
                    ended_on=dt.date(2020, 6, 1))  # fmt: skip
    factories.holding(parcels=[apn["164-010-001"]], name="Split off")
    HoldingParcel.objects.filter(parcel=apn["164-010-001"]).update(ended_on=dt.date(2019, 1, 1))
    factories.holding(parcels=[apn["164-010-003"]], name="Sold", ended_on=dt.date(2020, 1, 1))
    coming = dt.date.today() + dt.timedelta(days=30)
    factories.holding(parcels=[apn["164-010-004"]], name="Closing next month", acquired_on=coming)
    # The file drops the current home, three parcels held before or after today, and 164-010-005.
    frame = county_frame().iloc[[2]]

    result = run(write(frame, tmp_path / "v2.gpkg"), tmp_path)

    assert result.retired == 5
    assert result.message == (
        "warning: the county's file no longer names 1 parcel the trust holds; this import "
        "retired it, and its holding still points at it:\n"
        "  164-010-000, 1100 W Capitol St (held by 'Home at 1100'): no parcel new in this file "
        "covers it; ask the county what became of it"
    )


def test_retiring_only_parcels_the_trust_does_not_hold_warns_of_nothing(tmp_path):
    run(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)
    factories.holding(parcels=[Parcel.objects.get(apn="164-010-000")], name="Home at 1100")

    result = cli("import-parcels", str(write(county_frame(5), tmp_path / "v2.gpkg")), "--quiet",
                 "--rejects-dir", str(tmp_path / "rejects"))  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "1 retired" in result.output
    assert "warning" not in result.output
    assert ImportRun.objects.latest("started_at").message == ""
