"""The demo's illustrative overlays (fixtures/west_jackson/overlays.geojson): loaded with it, so
the finder's neighbourhood and "outside flood zones" filters answer what the generator measured
(expected.json), and replaced by `load-demo --force` while a user's imported overlays stay."""

import json
import shutil

import pytest
from click.testing import CliRunner

from clt.cli import main
from parcels import finder
from parcels.demo import DEMO_DIR, DemoDataError, load_demo_neighbourhood
from parcels.models import Overlay, Parcel

pytestmark = pytest.mark.django_db

EXPECTED = json.loads((DEMO_DIR / "expected.json").read_text())
FLOOD = EXPECTED["flood_zone"]
DEMO_FILE = "fixtures/west_jackson/overlays.geojson"  # the source_file the demo's overlays name


def found(**params) -> set[str]:
    """APNs of the vacant lots the finder finds, every one (the demo has ~110)."""
    collection = finder.vacant_lots_geojson({"limit": "1000", **params})
    return {f["properties"]["apn"] for f in collection["features"]}


def names(**filters) -> list[str]:
    return sorted(Overlay.objects.filter(**filters).values_list("name", flat=True))


def test_the_demo_loads_its_neighbourhoods_and_flood_zone_with_their_attributes():
    summary = load_demo_neighbourhood()
    assert summary.overlays == 4 and "4 overlays" in str(summary)
    for kind, expected in EXPECTED["overlay_names"].items():
        assert names(kind=kind) == expected
    flood = Overlay.objects.get(kind="flood-zone")
    assert flood.attributes == {"zone": "AE", "source": "illustrative, not FEMA's flood map (demo)"}
    assert flood.source_file == DEMO_FILE
    assert flood.geom_m.srid == 26995  # the metric outline the finder's filters read, filled
    assert Overlay.objects.filter(kind="neighbourhood").first().attributes == {
        "source": "illustrative (demo)"
    }


def test_outside_flood_zones_leaves_out_exactly_the_lots_the_generator_found_in_it():
    load_demo_neighbourhood()
    everywhere = found()
    left_out = everywhere - found(outside_flood="1")
    assert left_out == set(FLOOD["vacant_not_held_apns"])
    assert len(left_out) >= 2


def test_each_demo_neighbourhood_finds_the_vacant_lots_the_generator_counted():
    load_demo_neighbourhood()
    everywhere = found()
    in_some = set()
    for hood in EXPECTED["neighbourhoods"]:
        inside = found(neighbourhood=hood["name"].lower())  # matched ignoring case
        assert len(inside) == hood["vacant_not_held_count"], hood["name"]
        assert not inside & in_some, f"{hood['name']} shares lots with another neighbourhood"
        in_some |= inside
    assert in_some == everywhere


def test_load_demo_force_twice_keeps_one_copy_of_the_demo_overlays_and_a_users_import(
    monkeypatch, tmp_path
):
    monkeypatch.setattr("clt.cli.setup_django", lambda **kwargs: None)
    runner = CliRunner()
    # The user's file has the demo file's bare name: still theirs, not the demo's.
    users = tmp_path / "overlays.geojson"
    users.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Town Creek 100-year floodplain"},
        "geometry": {"type": "Polygon", "coordinates": [[
            [-90.19, 32.31], [-90.18, 32.31], [-90.18, 32.32], [-90.19, 32.32], [-90.19, 32.31],
        ]]},
    }]}))  # fmt: skip
    imported = runner.invoke(main, ["import-layer", str(users), "--kind", "flood-zone"])
    assert imported.exit_code == 0, imported.output
    for _ in range(2):
        result = runner.invoke(main, ["load-demo", "--force"])
        assert result.exit_code == 0, result.output
        assert ", 4 overlays" in result.output
    assert Overlay.objects.filter(source_file=DEMO_FILE).count() == 4
    assert names(kind="flood-zone") == sorted([FLOOD["name"], "Town Creek 100-year floodplain"])
    assert Overlay.objects.get(name="Town Creek 100-year floodplain").source_file == users.name


def test_a_bad_overlay_names_the_file_and_feature_and_loads_nothing(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    lines = (folder / "overlays.geojson").read_text().splitlines()
    lines[2] = lines[2].replace('"kind":"neighbourhood"', '"kind":"ward"')
    (folder / "overlays.geojson").write_text("\n".join(lines) + "\n")

    with pytest.raises(
        DemoDataError,
        match=r"overlays.geojson feature 2 \(Washington Addition\)"
        r": kind 'ward' is not one of neighbourhood, flood-zone",
    ):
        load_demo_neighbourhood(folder)
    assert Parcel.objects.count() == 0 and Overlay.objects.count() == 0  # all or nothing
