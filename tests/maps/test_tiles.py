"""Vector tiles: addresses, what a tile holds (decoded and compared with the database), caching
and freshness after edits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from maps import tiles, versions
from maps.layers import all_layers, get_layer
from parcels.actions import holding_change_use
from parcels.models import Holding, Parcel
from tests import factories
from tests.maps import factories_map

pytestmark = pytest.mark.django_db

CORNER_Z, CORNER_X, CORNER_Y = factories_map.CORNER_TILE
Z16_TILES = [(16, CORNER_X - dx, CORNER_Y - dy) for dx in (0, 1) for dy in (0, 1)]
Z14_TILE = (14, CORNER_X >> 2, CORNER_Y >> 2)
Z12_TILE = (12, CORNER_X >> 4, CORNER_Y >> 4)
MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture
def block():
    return factories_map.block()


def get_tile(client, layer: str, z: int, x: int, y: int, **headers):
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", headers=headers)


def decoded(response, layer: str) -> list[dict]:
    """The features of `layer` in a tile response (none for a 204), in the tile's own units:
    x right and y down from the north-west corner, 0..4096 inside the tile."""
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == MVT
    found = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})
    assert set(found) <= {layer}, f"unexpected MVT layers {set(found)}"
    return found.get(layer, {}).get("features", [])


def own_cells(features: list[dict]) -> list[dict]:
    """The cell points of the tile itself: those inside its square, not the ring of its
    neighbours' cells it also carries so that circles near its edges are drawn whole."""
    return [
        f
        for f in features
        if all(0 <= coordinate < tiles.EXTENT for coordinate in f["geometry"]["coordinates"])
    ]


def counted(features: list[dict]) -> int:
    """How many features the tile's own cells stand for."""
    return sum(f["properties"]["count"] for f in own_cells(features))


def plain(value):
    """A database value as a tile carries it (numbers as numbers, the rest as text)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def expected_outlines(layer_name: str, z: int, x: int, y: int) -> dict[str, dict]:
    """Per APN, the whitelisted properties of the layer's features that touch the tile (with
    its buffer), asked of the database directly."""
    layer = get_layer(layer_name)
    sql, params = layer.select_sql()
    margin = tiles.BUFFER / tiles.EXTENT
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT q.* FROM ({sql}) AS q WHERE ST_Intersects(ST_Transform(q.geom, 3857), "
            f"ST_TileEnvelope(%s, %s, %s, margin => %s))",
            [*params, z, x, y, margin],
        )
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {
        row["apn"]: {
            k: plain(v) for k, v in row.items() if k not in ("id", "geom") and v is not None
        }
        for row in rows
    }


def expected_cell_total(layer_name: str, z: int, x: int, y: int) -> int:
    """How many of the layer's features have their bounding-box centre inside the tile."""
    return sum(expected_cell_totals_by(layer_name, None, z, x, y).values())


def expected_cell_totals_by(
    layer_name: str, field: str | None, z: int, x: int, y: int
) -> dict[str | None, int]:
    """Per value of `field` (None: all together), how many of the layer's features have their
    bounding-box centre inside the tile."""
    layer = get_layer(layer_name)
    sql, params = layer.select_sql()
    value = f'q."{field}"' if field else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {value}, count(*) FROM ({sql}) AS q "
            f"WHERE ST_Contains(ST_TileEnvelope(%s, %s, %s), "
            f"ST_Transform(ST_SetSRID(ST_Centroid(Box2D(q.geom)::geometry), 4326), 3857)) "
            f"GROUP BY 1",
            [*params, z, x, y],
        )
        return dict(cursor.fetchall())


# --- tile addresses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "x", "y", "message"),
    [
        ("23", "0", "0", "z=23: the zoom must be between 0 and 22"),
        ("2", "4", "0", "x=4: at zoom 2 it must be 0 to 3"),
        ("2", "0", "4", "y=4: at zoom 2 it must be 0 to 3"),
        ("a", "0", "0", "z='a': not a whole number"),
        ("-1", "0", "0", "z=-1: the zoom must be between 0 and 22"),
        ("1.5", "0", "0", "z='1.5': not a whole number"),
        ("999999999", "0", "0", "z=999999999: the zoom must be between 0 and 22"),
        ("22", "0", "999999999", "y=999999999: at zoom 22 it must be 0 to 4194303"),
        ("0", "-0", "0", "x=-0: at zoom 0 it must be 0 to 0"),
        ("9" * 5000, "0", "0", f"z={'9' * 5000}: the zoom must be between 0 and 22"),
    ],
)
def test_a_tile_address_outside_the_pyramid_is_refused_with_its_reason(z, x, y, message):
    with pytest.raises(tiles.TileAddressError) as caught:
        tiles.parse_tile_address(z, x, y)
    assert str(caught.value) == message


def test_a_tile_address_inside_the_pyramid_parses():
    assert tiles.parse_tile_address("16", "16345", "26549") == tiles.TileAddress(16, 16345, 26549)
    assert tiles.parse_tile_address("02", "003", "0") == tiles.TileAddress(2, 3, 0)


def test_a_long_zoom_in_a_url_is_told_the_range_not_that_it_is_no_number(client):
    response = client.get("/tiles/trust-land/999999999/0/0.pbf")
    assert response.status_code == 400
    assert response.json()["detail"] == "z=999999999: the zoom must be between 0 and 22"


def test_a_bad_tile_address_is_a_400_problem(client):
    response = client.get("/tiles/trust-land/12/4096/0.pbf")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "x=4096: at zoom 12 it must be 0 to 4095"


def test_an_unknown_layer_is_a_404(client):
    response = client.get("/tiles/owners/12/0/0.pbf")
    assert response.status_code == 404
    assert response.json()["title"] == "No such layer"


def test_a_staff_layers_tile_asks_a_visitor_to_log_in_and_refuses_non_staff(client):
    # As the OGC API and the downloads answer for the same layer, which the OGC API lists.
    anonymous = get_tile(client, "leases", *Z14_TILE)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == 'Basic realm="clt staff", charset="UTF-8"'
    assert anonymous.json()["detail"] == "layer 'leases' is for the trust's staff"
    client.force_login(factories.user("resident"))
    assert get_tile(client, "leases", *Z14_TILE).status_code == 403


def test_a_geojson_layer_has_no_tiles(client):
    assert get_tile(client, "neighbourhoods", *Z14_TILE).status_code == 404


# --- what a tile holds --------------------------------------------------------------------


@pytest.mark.parametrize("tile", [Z14_TILE, *Z16_TILES])
def test_trust_land_tiles_hold_exactly_the_trust_parcels_with_their_public_fields(
    client, block, tile
):
    features = decoded(get_tile(client, "trust-land", *tile), "trust-land")
    got = {f["properties"]["apn"]: f["properties"] for f in features}
    expected = expected_outlines("trust-land", *tile)
    assert got == expected
    assert len(features) == len(expected)  # each parcel once per tile
    assert expected, "the block should reach every tile tested"


def test_the_z14_tile_holds_every_trust_parcel_of_the_block(client, block):
    features = decoded(get_tile(client, "trust-land", *Z14_TILE), "trust-land")
    assert sorted(f["properties"]["apn"] for f in features) == sorted(p.apn for p in block.trust)
    farm = [f["properties"] for f in features if f["properties"]["use"] == "urban_farm"]
    assert len(farm) == 2
    assert farm[0]["contact"] == "Lumumba Center, 939 W. Capitol St., Jackson MS 39203"


def test_z16_tiles_clip_to_the_tile_and_share_border_parcels_through_their_buffers(client, block):
    counts = [len(decoded(get_tile(client, "parcels", *t), "parcels")) for t in Z16_TILES]
    # 48 lots in a grid centred on the tiles' shared corner: each tile holds its quarter
    # (12) plus the lots across its two inner edges that reach into its 64-unit buffer.
    assert sum(counts) > len(block.active)
    for tile, count in zip(Z16_TILES, counts, strict=True):
        assert count == len(expected_outlines("parcels", *tile))


@pytest.mark.parametrize("tile", [Z14_TILE, *Z16_TILES])
def test_vacant_lot_tiles_match_the_database(client, block, tile):
    features = decoded(get_tile(client, "vacant-lots", *tile), "vacant-lots")
    got = {f["properties"]["apn"]: f["properties"] for f in features}
    assert got == expected_outlines("vacant-lots", *tile)


def test_vacant_lots_are_never_trust_land_nor_retired(client, block):
    features = decoded(get_tile(client, "vacant-lots", *Z14_TILE), "vacant-lots")
    assert sorted(f["properties"]["apn"] for f in features) == sorted(p.apn for p in block.vacant)


@pytest.mark.parametrize(("layer", "tile"), [("vacant-lots", Z12_TILE), ("parcels", Z12_TILE)])
def test_below_the_detail_zoom_a_tile_counts_features_per_cell(client, block, layer, tile):
    features = decoded(get_tile(client, layer, *tile), layer)
    assert all(set(f["properties"]) == {"count"} for f in features)
    assert all(f["geometry"]["type"] == "Point" for f in features)
    assert counted(features) == expected_cell_total(layer, *tile)
    assert expected_cell_total(layer, *tile) == len(
        block.vacant if layer == "vacant-lots" else block.active
    )


def test_below_z13_trust_land_is_counted_per_cell_and_use(client, block):
    # Sub-pixel outlines of every holding made whole-city tiles of 0.5-0.8 MB: one point per
    # cell and use, which the map draws in that use's colour.
    features = decoded(get_tile(client, "trust-land", *Z12_TILE), "trust-land")
    assert all(set(f["properties"]) == {"count", "use"} for f in features)
    assert all(f["geometry"]["type"] == "Point" for f in features)
    per_use: dict[str, int] = {}
    for f in own_cells(features):
        use = f["properties"]["use"]
        per_use[use] = per_use.get(use, 0) + f["properties"]["count"]
    assert per_use == expected_cell_totals_by("trust-land", "use", *Z12_TILE)
    assert len(per_use) == len(factories_map.HOLDINGS)  # every use of the block's holdings, apart
    assert sum(per_use.values()) == len(block.trust)


def test_below_z13_available_land_and_staff_leases_are_counted_per_cell(client, block):
    available = decoded(get_tile(client, "available", *Z12_TILE), "available")
    assert all(set(f["properties"]) == {"count"} for f in available)
    assert counted(available) == len(block.available)
    client.force_login(factories.user("planner", role="read-only", is_staff=True))
    leases = decoded(get_tile(client, "leases", *Z12_TILE), "leases")
    in_force = expected_cell_total("leases", *Z12_TILE)
    assert counted(leases) == in_force == 1  # the block's lease
    assert all(set(f["properties"]) == {"count"} for f in leases)


def test_cells_count_each_feature_in_one_tile_only(client, block):
    z13 = [(13, (CORNER_X >> 3) - dx, (CORNER_Y >> 3) - dy) for dx in (0, 1) for dy in (0, 1)]
    total = sum(counted(decoded(get_tile(client, "parcels", *tile), "parcels")) for tile in z13)
    assert total == len(block.active)


def test_a_cell_by_a_tile_edge_is_drawn_by_both_tiles_and_counted_by_its_own(client):
    # Two z12 tiles side by side; lots whose centres lie 3 and 40 pixels west of the edge
    # between them, and 5 east of it. The map clips each tile at its edge: a circle by the
    # edge is drawn whole only if the tile across carries it too, at the same place.
    west, east = (12, 1021, 1659), (12, 1022, 1659)
    edge_lon, top_lat = factories_map.tile_corner(*east)
    pixel = 360 / 2**12 / 256  # degrees of longitude
    for pixels in (-3, -3, -40, 5):
        lon, lat = edge_lon + pixels * pixel, top_lat - 100 * pixel
        square = Polygon.from_bbox((lon - pixel, lat - pixel, lon + pixel, lat + pixel))
        factories.parcel(geom=MultiPolygon(square, srid=4326), vacancy_status="occupied")
    in_west = decoded(get_tile(client, "parcels", *west), "parcels")
    in_east = decoded(get_tile(client, "parcels", *east), "parcels")
    assert counted(in_west) == expected_cell_total("parcels", *west) == 3
    assert counted(in_east) == expected_cell_total("parcels", *east) == 1

    cell = tiles.EXTENT // tiles.CELLS_PER_SIDE

    def by_the_edge(features, shift=0):
        """(x, count) of the points within a cell of the tiles' shared edge, in west's units."""
        return {
            (f["geometry"]["coordinates"][0] + shift, f["properties"]["count"])
            for f in features
            if abs(f["geometry"]["coordinates"][0] + shift - tiles.EXTENT) < cell
        }

    # By the edge: west's two lots (one circle of 2) and east's lot, each in both tiles.
    assert by_the_edge(in_west) == by_the_edge(in_east, shift=tiles.EXTENT)
    assert {count for _, count in by_the_edge(in_west)} == {2, 1}
    # 40 pixels from the edge is no neighbour's business: the halo is one 16-pixel cell.
    assert len(in_east) == 2


def test_below_the_min_zoom_a_tile_is_empty_without_a_query(
    client, block, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = get_tile(client, "parcels", 11, CORNER_X >> 5, CORNER_Y >> 5)
    assert response.status_code == 204
    assert response["ETag"]


def test_an_empty_tile_is_a_204_with_caching_headers(client, block):
    response = get_tile(client, "trust-land", 16, 0, 0)
    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response  # no body, no type (not Django's text/html)
    assert response["ETag"].startswith('"')
    assert response["Cache-Control"] == "public, no-cache"


# --- caching and freshness ------------------------------------------------------------------


def test_a_public_tile_is_cacheable_by_anyone_and_revalidated_by_etag(client, block):
    first = get_tile(client, "trust-land", *Z14_TILE)
    assert first["Cache-Control"] == "public, no-cache"
    again = get_tile(client, "trust-land", *Z14_TILE, if_none_match=first["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]
    assert "Content-Type" not in again  # no body, no type (not Django's default text/html)


def test_a_weak_etag_from_a_compressing_proxy_still_revalidates_a_tile(client, block):
    first = get_tile(client, "trust-land", *Z14_TILE)
    weak = f"W/{first['ETag']}"
    assert get_tile(client, "trust-land", *Z14_TILE, if_none_match=weak).status_code == 304
    other = 'W/"0000"'
    assert get_tile(client, "trust-land", *Z14_TILE, if_none_match=other).status_code == 200


def test_a_staff_tile_is_private_to_the_browser(client, block):
    client.force_login(factories.user("planner", role="read-only", is_staff=True))
    response = get_tile(client, "leases", *Z14_TILE)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    assert "Cookie" in response["Vary"]
    features = decoded(response, "leases")
    # One feature per lease, known by the lease's id; the block's lease is of one parcel.
    lease = block.leased.leases.get()
    assert [(f["id"], f["properties"]["apns"]) for f in features] == [(lease.pk, block.leased.apn)]
    assert features[0]["properties"]["arrears"] == 1234.56  # a number: MVT has no decimal


def test_the_second_request_is_served_from_the_tile_cache(block):
    compiled = tiles.compiled_layer("trust-land")
    address = tiles.TileAddress(*Z14_TILE)
    first, second = tiles.fetch(compiled, address), tiles.fetch(compiled, address)
    assert (first.cached, second.cached) == (False, True)
    assert first.body and first.body == second.body and first.etag == second.etag


def test_a_tile_costs_one_round_trip_and_a_stale_cached_one_is_rebuilt(block):
    compiled = tiles.compiled_layer("vacant-lots")
    address = tiles.TileAddress(*Z14_TILE)
    tiles.fetch(compiled, address)  # the data-version trigger is checked once per process
    caches[tiles.CACHE_ALIAS].clear()
    with CaptureQueriesContext(connection) as queries:
        first = tiles.fetch(compiled, address)
    assert len(queries) == 1 and "ST_AsMVT" in queries[0]["sql"]  # versions come with the tile
    with CaptureQueriesContext(connection) as queries:
        assert tiles.fetch(compiled, address).cached
    assert len(queries) == 1 and "ST_AsMVT" not in queries[0]["sql"]  # the versions alone
    lot = block.vacant[0]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE parcels_parcel SET address = '9 New St' WHERE id = %s", [lot.pk])
    second = tiles.fetch(compiled, address)
    assert not second.cached and second.etag != first.etag
    assert b"9 New St" in second.body and b"9 New St" not in first.body
    third = tiles.fetch(compiled, address)
    assert (third.cached, third.etag, third.body) == (True, second.etag, second.body)


def test_a_revalidation_costs_no_build(block):
    compiled = tiles.compiled_layer("vacant-lots")
    address = tiles.TileAddress(*Z14_TILE)
    etag = tiles.fetch(compiled, address).etag
    caches[tiles.CACHE_ALIAS].clear()  # another process served it: nothing cached here
    with CaptureQueriesContext(connection) as queries:
        again = tiles.fetch(compiled, address, [etag])
    assert again.not_modified and again.etag == etag and again.body == b""
    assert len(queries) == 1 and "ST_AsMVT" not in queries[0]["sql"]
    other = tiles.fetch(compiled, address, ['"someone else\'s"'])
    assert not other.not_modified and other.body and other.etag == etag


def test_an_edit_through_a_named_action_changes_the_tile_at_once(client, block):
    first = get_tile(client, "trust-land", *Z14_TILE)
    garden = Holding.objects.get(current_use="community_garden")
    holding_change_use(holding=garden, current_use="urban_farm")
    second = get_tile(client, "trust-land", *Z14_TILE, if_none_match=first["ETag"])
    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]
    uses = [f["properties"]["use"] for f in decoded(second, "trust-land")]
    assert uses.count("urban_farm") == 3 and "community_garden" not in uses


def test_an_edit_by_raw_sql_changes_the_tile_at_once(client, block):
    first = get_tile(client, "vacant-lots", *Z14_TILE)
    lot = block.vacant[0]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE parcels_parcel SET address = %s WHERE id = %s", ["9 New St", lot.pk])
    second = get_tile(client, "vacant-lots", *Z14_TILE, if_none_match=first["ETag"])
    assert second.status_code == 200
    addresses = {
        f["properties"]["apn"]: f["properties"]["address"] for f in decoded(second, "vacant-lots")
    }
    assert addresses[lot.apn] == "9 New St"


def test_a_new_parcel_appears_in_the_next_tile(client, block):
    first = get_tile(client, "vacant-lots", *Z14_TILE)
    Parcel.objects.create(
        apn="173-000-001",
        address="5 Fresh Ln",
        geom=factories_map.lot(-4, 2),
        vacancy_status="vacant",
    )
    second = get_tile(client, "vacant-lots", *Z14_TILE, if_none_match=first["ETag"])
    assert "173-000-001" in {f["properties"]["apn"] for f in decoded(second, "vacant-lots")}


def test_every_table_a_layer_reads_bumps_its_version_on_write():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s",
            [versions.TRIGGER],
        )
        watched = {row[0] for row in cursor.fetchall()}
    for layer in all_layers().values():
        tables = versions.layer_tables(layer) - versions.day_input(layer.as_of)  # no trigger
        assert tables, layer.name
        assert tables <= watched, f"{layer.name} reads unwatched {tables - watched}"


def test_one_statement_bumps_a_table_version_once_whatever_its_rows(block):
    before = versions.versions(["parcels_parcel"])["parcels_parcel"]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE parcels_parcel SET zoning = 'R-2'")
        assert cursor.rowcount > 40
    after = versions.versions(["parcels_parcel"])["parcels_parcel"]
    assert after > before
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM maps_data_version_seq")
        assert cursor.fetchone()[0] == after


def test_a_compiled_layer_is_the_same_as_a_fresh_compile():
    for name, layer in all_layers().items():
        compiled = tiles.compiled_layer(name)
        sql, params = tiles.unordered(layer).select_sql()
        assert (compiled.sql, compiled.params) == (sql, tuple(params)), name
        assert compiled.parts == layer.parts_sql(), name  # the leases' parcels, for the box


def test_a_compiled_layer_follows_the_trusts_contact(settings):
    before = tiles.compiled_layer("trust-land")
    settings.CLT_CONTACT = "Call 601-000-0000"
    after = tiles.compiled_layer("trust-land")
    assert "Call 601-000-0000" in after.params and "Call 601-000-0000" not in before.params


def test_a_tile_is_the_same_whichever_way_the_driver_binds_parameters(block, monkeypatch):
    compiled = tiles.compiled_layer("trust-land")
    sql, params = tiles.tile_sql(compiled, tiles.TileAddress(*Z14_TILE))
    client_side = tiles._run(sql, params)
    options = {**connection.settings_dict.get("OPTIONS", {}), "server_side_binding": True}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    assert tiles._run(sql, params) == client_side
    assert client_side[0]
