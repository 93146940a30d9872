"""The staff lease layer has one feature per lease in force, so a lease's money is counted once.

It had a feature per parcel, each carrying its lease's arrears and open monitoring events: the
demo's downloads summed $1,424.58 and 7 open events where the lease register says $862.29 and 6
(a lease of two parcels and one of four). Each surface of the layer is read here as a GIS user
reads it, and summed: the OGC API's items, the GeoJSON, CSV and GeoPackage downloads, `clt
export`, the tiles, the search. The register is `GroundLease.objects.in_force()`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from decimal import Decimal

import mapbox_vector_tile
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from django.db import connection
from django.db.models import Sum

from clt.cli import main
from leases.models import GroundLease, MonitoringEvent
from maps import tiles
from maps.tiles import TileAddress
from parcels.models import HoldingParcel, Parcel
from tests import factories
from tests.maps import factories_ogc as f
from tests.maps.factories_ogc import download

WEST, LAT, SIDE = -90.2050, 32.3010, 0.0003
ITEMS = "/ogcapi/collections/leases/items"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def lots(*columns: int) -> list[Parcel]:
    """Lots in a row, one per column; lots in neighbouring columns share an edge."""
    return [factories.parcel(geom=factories.lot(WEST + c * SIDE, LAT, SIDE)) for c in columns]


def leases_of(parcels: list[Parcel], *references: str, use: str = "single_family_home",
              arrears: tuple[str, ...] = ()) -> list[GroundLease]:
    """A holding of `parcels` under a lease per reference (a co-op's units share its lots)."""
    held = factories.holding(parcels=parcels, current_use=use)
    return [
        factories.lease(holding_=held, reference=reference, arrears=Decimal(owed))
        for reference, owed in zip(references, arrears, strict=True)
    ]


def open_event(lease: GroundLease, status: str = "open") -> None:
    resolved = {"resolved_on": lease.starts_on} if status == "resolved" else {}
    MonitoringEvent.objects.create(
        lease=lease, type="late_fee_payment", on=lease.starts_on, status=status, **resolved
    )


def make_leases() -> dict[str, GroundLease]:
    """Four leases in force over five lots, and one that has ended:

    - GL-TWO-LOTS on two lots side by side, $562.29 owed, one event open (one resolved);
    - GL-ONE-LOT, $300.00 owed, one event open and one in progress;
    - GL-UNIT-1 and GL-UNIT-2, two co-op units' leases on the same two lots, $100.00 and $25.50;
    - GL-ENDED, ended in 2020 with $999.99 and an open event: not in force, on no feature.
    """
    (two,) = leases_of(lots(0, 1), "GL-TWO-LOTS", arrears=("562.29",))
    (one,) = leases_of(lots(7), "GL-ONE-LOT", arrears=("300.00",))
    units = leases_of(lots(14, 15), "GL-UNIT-1", "GL-UNIT-2", use="coop_housing",
                      arrears=("100.00", "25.50"))
    (ended,) = leases_of(lots(21), "GL-ENDED", arrears=("999.99",))
    GroundLease.objects.filter(pk=ended.pk).update(status="terminated", ended_on="2020-01-01")
    open_event(two), open_event(two, "resolved")
    open_event(one), open_event(one, "in_progress")
    open_event(ended)
    return {lease.reference: lease for lease in (two, one, *units, ended)}


@pytest.fixture
def leases(db) -> dict[str, GroundLease]:
    return make_leases()


@pytest.fixture
def staff(db, client):
    client.force_login(f.staff_user())
    return client


def register() -> tuple[Decimal, int]:
    """The lease register's totals: arrears of the leases in force, and their open events."""
    in_force = GroundLease.objects.in_force()
    arrears = in_force.aggregate(total=Sum("arrears"))["total"]
    events = MonitoringEvent.objects.filter(lease__in=in_force, status__in=["open", "in_progress"])
    return arrears, events.count()


def items(client, query: str = "") -> list[dict]:
    response = client.get(f"{ITEMS}?f=json&limit=100{query}")
    assert response.status_code == 200, response.content[:300]
    return response.json()["features"]


# --- sums over the layer ------------------------------------------------------------------------


def test_summed_over_the_ogc_api_items_arrears_and_open_events_are_the_registers(staff, leases):
    features = items(staff)
    assert register() == (Decimal("987.79"), 3)
    assert sum(Decimal(str(ft["properties"]["arrears"])) for ft in features) == Decimal("987.79")
    assert sum(ft["properties"]["open_monitoring"] for ft in features) == 3
    in_force = [ref for ref in leases if ref != "GL-ENDED"]
    assert sorted(ft["properties"]["lease"] for ft in features) == sorted(in_force)


def test_summed_over_the_csv_and_geojson_downloads_they_are_the_registers(staff, leases):
    rows = list(csv.DictReader(io.StringIO(download(staff, "/export/leases.csv").decode())))
    assert sum(Decimal(row["arrears"]) for row in rows) == Decimal("987.79")
    assert sum(int(row["open_monitoring"]) for row in rows) == 3
    assert sorted(int(row["id"]) for row in rows) == sorted(
        lease.pk for ref, lease in leases.items() if ref != "GL-ENDED"
    )
    doc = json.loads(download(staff, "/export/leases.geojson"))
    assert sum(Decimal(str(ft["properties"]["arrears"])) for ft in doc["features"]) == Decimal(
        "987.79"
    )
    assert sum(ft["properties"]["open_monitoring"] for ft in doc["features"]) == 3


@pytest.mark.django_db(transaction=True)
def test_the_geopackage_and_clt_export_have_one_feature_per_lease(client, tmp_path):
    make_leases()  # committed: ogr2ogr reads with a connection of its own
    client.force_login(f.staff_user())
    web = tmp_path / "web.gpkg"
    web.write_bytes(download(client, "/export/leases.gpkg"))
    cli = tmp_path / "cli.gpkg"
    result = CliRunner().invoke(main, ["export", "leases", "-f", "gpkg", "-o", str(cli)])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(f"clt: wrote leases to {cli} (4 features)\n")
    for path in (web, cli):
        frame = pyogrio.read_dataframe(path, fid_as_index=True)
        assert sorted(frame["lease"]) == ["GL-ONE-LOT", "GL-TWO-LOTS", "GL-UNIT-1", "GL-UNIT-2"]
        assert round(frame["arrears"].sum(), 2) == 987.79
        assert frame["open_monitoring"].sum() == 3
        two = frame[frame["lease"] == "GL-TWO-LOTS"]
        assert list(two.index) == [GroundLease.objects.get(reference="GL-TWO-LOTS").pk]  # FID


def test_a_tile_found_through_the_parcels_index_is_the_tile_of_the_outlines(leases):
    # Tiles find the leases in their box by the leases' parcels (`Layer.parts`), so that only
    # those leases' outlines are built; asked of the outlines themselves, the same tile.
    through_parts = tiles.compiled_layer("leases")
    on_outlines = dataclasses.replace(through_parts, parts=None)
    first = leases["GL-TWO-LOTS"].parcels.order_by("apn").first()
    lon, lat = first.geom.point_on_surface.coords
    for z in (10, 12, 14, 16, 18):
        address = TileAddress.containing(lon, lat, z)
        built = [tiles._run(*tiles.tile_sql(each, address))[0] for each in (through_parts,
                                                                           on_outlines)]
        # The same features, attributes and geometry; not the same bytes: the two queries are
        # planned apart, and nothing orders a tile's features.
        assert built[0] and tile_features(built[0]) == tile_features(built[1]), z


def tile_features(tile: bytes) -> list[tuple]:
    """A tile's features, by layer, in a set order: (layer, id, properties, geometry)."""
    decoded = mapbox_vector_tile.decode(tile)
    return sorted(
        (name, feature["id"], json.dumps(feature["properties"], sort_keys=True),
         json.dumps(feature["geometry"], sort_keys=True))
        for name, layer in decoded.items()
        for feature in layer["features"]
    )  # fmt: skip


# --- a lease is one feature -----------------------------------------------------------------------


def test_a_two_parcel_lease_is_one_feature_whose_outline_covers_both(staff, leases):
    lease = leases["GL-TWO-LOTS"]
    first, second = lease.parcels.order_by("apn")
    feature = staff.get(f"{ITEMS}/{lease.pk}?f=json").json()
    assert feature["id"] == lease.pk
    assert feature["properties"] == {
        "lease": "GL-TWO-LOTS", "lease_status": "active", "arrears": 562.29,
        "open_monitoring": 1, "parcels": 2, "apns": f"{first.apn}, {second.apn}",
        "addresses": f"{first.address}; {second.address}",
    }  # fmt: skip
    assert feature["geometry"]["type"] == "MultiPolygon"
    outline = shapely.geometry.shape(feature["geometry"])
    both = shapely.union_all([shapely.from_wkt(p.geom.wkt) for p in (first, second)])
    assert outline.symmetric_difference(both).area < both.area * 1e-6  # to the 7 decimals sent
    assert len(outline.geoms) == 1  # the two lots share an edge: one polygon, no seam


def test_a_leases_outline_has_its_parcels_area_in_the_county_crs_too(staff, leases):
    lease = leases["GL-TWO-LOTS"]
    feature = staff.get(f"{ITEMS}/{lease.pk}?f=json&crs={EPSG}2255").json()
    outline_ft2 = shapely.geometry.shape(feature["geometry"]).area
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(ST_Area(ST_Transform(geom, 2255))) FROM parcels_parcel WHERE id = ANY(%s)",
            [[p.pk for p in lease.parcels.all()]],
        )
        parcels_ft2 = cursor.fetchone()[0]
    assert outline_ft2 == pytest.approx(parcels_ft2, rel=1e-5)
    assert 19_000 < outline_ft2 < 21_000  # two lots of about 28 m x 33 m, in US survey feet


def test_two_leases_on_the_same_lots_are_two_features_each_with_its_own_money(staff, leases):
    units = [ft for ft in items(staff) if ft["properties"]["lease"].startswith("GL-UNIT")]
    assert {ft["properties"]["lease"]: ft["properties"]["arrears"] for ft in units} == {
        "GL-UNIT-1": 100.0, "GL-UNIT-2": 25.5,
    }  # fmt: skip
    assert units[0]["geometry"] == units[1]["geometry"]
    assert {ft["properties"]["parcels"] for ft in units} == {2}


def test_the_feature_id_stays_the_leases_when_its_parcels_change(staff, leases):
    lease = leases["GL-ONE-LOT"]
    (added,) = lots(8)
    HoldingParcel.objects.create(holding=lease.holding, parcel=added, began_on=lease.starts_on)
    lease.parcels.add(added)
    feature = staff.get(f"{ITEMS}/{lease.pk}?f=json").json()
    assert (feature["id"], feature["properties"]["parcels"]) == (lease.pk, 2)
    assert added.apn in feature["properties"]["apns"]


def test_a_box_over_one_parcel_of_a_lease_selects_the_whole_lease(staff, leases):
    lease = leases["GL-TWO-LOTS"]
    second = lease.parcels.order_by("apn").last()
    x0, y0, x1, y1 = second.geom.extent
    inset = SIDE / 4  # inside the second lot only
    found = items(staff, f"&bbox={x0 + inset},{y0 + inset},{x1 - inset},{y1 - inset}")
    assert [ft["id"] for ft in found] == [lease.pk]
    assert found[0]["properties"]["parcels"] == 2
    assert shapely.geometry.shape(found[0]["geometry"]).area == pytest.approx(2 * SIDE * SIDE)


def test_a_tile_draws_each_lease_once_and_counts_leases_zoomed_out(staff, leases):
    first = leases["GL-TWO-LOTS"].parcels.order_by("apn").first()
    lon, lat = first.geom.point_on_surface.coords
    z14 = TileAddress.containing(lon, lat, 14)
    tile = mapbox_vector_tile.decode(staff.get(f"/tiles/leases/{z14}.pbf").content)
    drawn = [ft["properties"]["lease"] for ft in tile["leases"]["features"]]
    assert sorted(drawn) == ["GL-ONE-LOT", "GL-TWO-LOTS", "GL-UNIT-1", "GL-UNIT-2"]
    assert {ft["id"] for ft in tile["leases"]["features"]} == {
        lease.pk for ref, lease in leases.items() if ref != "GL-ENDED"
    }
    z12 = TileAddress.containing(lon, lat, 12)
    cells = mapbox_vector_tile.decode(staff.get(f"/tiles/leases/{z12}.pbf").content)
    assert sum(ft["properties"]["count"] for ft in cells["leases"]["features"]) == 4  # not 5 lots


def test_the_staff_search_finds_a_parcel_of_a_lease_with_the_whole_lease(staff, leases):
    lease = leases["GL-TWO-LOTS"]
    first, second = lease.parcels.order_by("apn")
    response = staff.get("/map/staff/search.json", {"q": second.apn})
    (found,) = response.json()["results"]
    assert (found["layer"], found["id"]) == ("leases", lease.pk)
    assert found["properties"]["apn"] == second.apn  # the parcel found, for the link
    assert found["properties"]["apns"] == f"{first.apn}, {second.apn}"
    point = shapely.Point(found["lon"], found["lat"])
    assert shapely.from_wkt(second.geom.wkt).covers(point)  # the popup opens on that parcel


def test_the_downloads_say_a_feature_is_a_lease_known_by_the_leases_id(staff, leases):
    metadata = json.loads(download(staff, "/export/leases.csv-metadata.json"))
    (id_column,) = [c for c in metadata["tableSchema"]["columns"] if c["name"] == "id"]
    assert "the lease's id" in id_column["dc:description"]
    assert metadata["dc:description"].startswith("One feature per ground lease in force")
    titles = {c["name"]: c["dc:description"] for c in metadata["tableSchema"]["columns"]}
    assert titles["arrears"] == "Fees in arrears on the lease ($)"
    doc = json.loads(download(staff, "/export/leases.geojson"))
    (source,) = doc["metadata"]["sources"]
    assert (source["features"], source["parcels"]) == (4, 5)


# --- the staff map ---------------------------------------------------------------------------


def test_the_staff_maps_legend_counts_leases_and_its_popup_says_a_feature_is_a_lease(staff, leases):
    html = staff.get("/map/staff/").content.decode()
    legend = html.split('class="clt-legend"')[1].split("Ground leases (staff)")[1].split("</li>")[0]
    assert "circles show how many leases are near" in legend
    assert '"featureNoun": "lease"' in html
    assert "One lease in force, drawn over all its parcels" in html  # its popups' note


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_clicking_either_parcel_of_a_lease_opens_the_whole_leases_popup(browser, live_server):
    from tests.browser import staff_visit

    two = make_leases()["GL-TWO-LOTS"]
    first, second = two.parcels.order_by("apn")
    point = second.geom.point_on_surface
    with staff_visit(browser, live_server, viewport={"width": 1200, "height": 800}) as visit:
        visit.open(f"{live_server.url}/map/staff/?lat={point.y:.6f}&lon={point.x:.6f}&z=18")
        visit.click_at(point.y, point.x)
        text = visit.popup_text()
        assert text.splitlines()[1] == "GL-TWO-LOTS"  # its heading, under the layer's title
        assert f"{first.apn}, {second.apn}" in text and "562.29" in text
        assert "Parcels of the lease the trust holds\n2" in text
        assert not visit.errors, visit.errors
