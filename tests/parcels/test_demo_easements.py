"""The demo's conservation easements: one on the trust's farm held by another organisation, one
the trust holds on a neighbour's lot, and their monitoring visits."""

import datetime as dt
import json
import shutil

import pytest

from leases.models import Party
from parcels.demo import DEMO_DIR, DemoDataError, load_demo_neighbourhood
from parcels.models import ConservationEasement, EasementMonitoringVisit, Parcel

pytestmark = pytest.mark.django_db


def test_the_demo_easements_burden_the_farm_and_the_meadow_lot():
    summary = load_demo_neighbourhood()

    assert (summary.leases.easements, summary.leases.easement_visits) == (2, 4)
    farm = ConservationEasement.objects.get(name="Freedom Farm farmland easement")
    meadow = ConservationEasement.objects.get(name="Florence Avenue pollinator meadow")
    assert farm.holder.kind == "organisation" and farm.grantor.kind == "trust"
    assert meadow.holder.kind == "trust" and not meadow.perpetual
    burdened = {e.name: sorted(Parcel.objects.burdened_by(e).values_list("apn", flat=True))
                for e in (farm, meadow)}  # fmt: skip
    assert burdened == {
        farm.name: ["166-156-003", "166-156-004", "166-156-005"],
        meadow.name: ["166-156-001"],
    }
    # The meadow's last visit was in September 2024: due since its anniversary in 2025.
    due = ConservationEasement.objects.monitoring_due(dt.date(2026, 11, 24))
    assert list(due) == [meadow]


def test_loading_the_demo_again_replaces_its_easements_and_their_parties():
    load_demo_neighbourhood()
    parties = Party.objects.count()

    load_demo_neighbourhood()

    assert Party.objects.count() == parties
    assert ConservationEasement.objects.count() == 2
    assert EasementMonitoringVisit.objects.count() == 4


def test_a_bad_easement_row_names_its_file_and_feature_and_loads_nothing(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    path = folder / "easements.geojson"
    data = json.loads(path.read_text())
    data["features"][1]["properties"]["holder"] = "jackson-heirs"  # a household
    path.write_text(json.dumps(data))

    with pytest.raises(DemoDataError) as refused:
        load_demo_neighbourhood(folder)

    assert "easements.geojson feature 2 (florence-meadow)" in str(refused.value)
    assert "conservation organisation" in str(refused.value)
    assert not Parcel.objects.exists() and not ConservationEasement.objects.exists()
