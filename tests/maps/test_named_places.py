"""A farm, a garden or a co-op is a public place known by its name ("Freedom Farm"): the map's
trust land carries it, and a resident finds it by it. A household's home never: its holding's
name is the family's or the address, and would say who lives there."""

from __future__ import annotations

import pytest

from maps import search
from maps.layers import all_layers
from tests import factories
from tests.factories import WEST_JACKSON, lot

pytestmark = pytest.mark.django_db

LON, LAT = WEST_JACKSON
SIDE = 0.0003


@pytest.fixture
def places():
    farm = [factories.parcel(apn=f"F-{i}", address=f"{1540 + i} Dalton St",
                             geom=lot(LON + i * SIDE, LAT)) for i in range(2)]  # fmt: skip
    home = factories.parcel(apn="H-1", address="1419 Bell St", geom=lot(LON, LAT + SIDE))
    factories.holding(farm, name="Freedom Farm", current_use="urban_farm")
    factories.holding([home], name="Quimby family home", current_use="single_family_home")
    return farm, home


def public() -> list:
    return [layer for layer in all_layers().values() if layer.is_public]


def test_trust_land_names_the_farm_and_never_the_home(places):
    rows = all_layers()["trust-land"].rows().values_list("f_apn", "f_place")

    assert sorted(rows) == [("F-0", "Freedom Farm"), ("F-1", "Freedom Farm"), ("H-1", "")]


@pytest.mark.parametrize("typed", ["freedom farm", "Freedom", "FARM"])
def test_a_resident_finds_the_farm_by_its_name(places, typed):
    found, more = search.find_page(typed, public())

    assert [(r["properties"]["apn"], r["properties"]["place"]) for r in found] == [
        ("F-0", "Freedom Farm"), ("F-1", "Freedom Farm")
    ]
    assert not more


def test_a_homes_holding_is_never_found_by_its_name(places, client):
    assert search.find_page("Quimby", public()) == ([], False)
    assert "Quimby" not in client.get("/map/search.json", {"q": "1419 Bell"}).content.decode()
    assert "Quimby" not in client.get("/map/list/").content.decode()
