"""A trust outside Mississippi: its metric CRS, time zone and map centre are settings
(parcels/metric.py, clt/settings.py). The metric outlines follow CLT_METRIC_SRID after every
migrate, so Durham's county file is accepted and measured in North Carolina's metres; a CRS that
cannot measure in metres is refused with the one to use (QA: a second trust adopting clt, and
the correctness review's finding 4: Burlington refused, Atlanta's distances 0.37% long)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from django.db import connection
from django.test import override_settings
from pyproj import Transformer

from clt import doctor
from clt import settings as clt_settings
from parcels.metric import (
    MIGRATED_SRID,
    MetricOutlineField,
    check_metric_crs,
    metric_crs_problem,
)
from tests import factories
from tests.dbstate import database_url

ROOT = Path(__file__).resolve().parents[2]
CLT = Path(sys.executable).with_name("clt")
DURHAM = (35.9940, -78.8986)  # lat, lon: Durham, North Carolina
NC_METRES, UTM_17N = 32119, 32617


# --- the setting, checked --------------------------------------------------------------------


def test_a_crs_in_feet_is_refused_naming_a_crs_in_metres_for_the_same_place():
    problem = metric_crs_problem(2264)
    assert "NAD83 / North Carolina (ftUS)" in problem and "not metres" in problem
    assert "EPSG:32617 (WGS 84 / UTM zone 17N)" in problem


@override_settings(MAP_DEFAULT_CENTER=DURHAM)
def test_degrees_are_refused_with_the_utm_zone_of_the_trusts_map():
    problem = metric_crs_problem(4326)
    assert "not projected" in problem and "EPSG:32617" in problem


def test_an_unknown_code_is_refused_and_a_projected_crs_in_metres_is_taken():
    assert "not an EPSG code PROJ knows" in metric_crs_problem(999999)
    assert metric_crs_problem(NC_METRES) is None
    assert metric_crs_problem(MIGRATED_SRID) is None


@override_settings(CLT_METRIC_SRID=2264)
def test_the_system_check_stops_migrate_on_a_crs_that_cannot_measure_metres():
    [error] = check_metric_crs()
    assert error.id == "clt.E010" and error.level >= 40


@override_settings(MAP_DEFAULT_CENTER=DURHAM)
def test_a_map_centre_outside_the_metric_crs_is_warned_of_before_land_is_refused():
    [warning] = check_metric_crs()
    assert warning.id == "clt.W011" and "Mississippi West" in warning.msg
    assert "CLT_METRIC_SRID" in warning.hint
    with override_settings(CLT_METRIC_SRID=NC_METRES):
        assert check_metric_crs() == []


@override_settings(CLT_METRIC_SRID=NC_METRES)
def test_the_field_measures_in_the_setting_and_deconstructs_as_its_migration():
    field = MetricOutlineField(null=True)
    assert field.output_field.srid == NC_METRES
    assert "32119" in field.expression.sql
    _, path, _, kwargs = field.deconstruct()
    assert path == "django.db.models.GeneratedField"
    assert kwargs["output_field"].srid == MIGRATED_SRID and kwargs["output_field"].null
    assert kwargs["expression"].sql == f"ST_Transform(geom, {MIGRATED_SRID})"


@override_settings(CLT_METRIC_SRID=NC_METRES)
def test_a_shrunk_outline_keeps_its_inset_through_deconstruction_and_clones():
    """Django clones fields from their deconstruction: the inset, not a GeneratedField
    argument, must survive in the expression (it was lost: a migration of the plain outline)."""
    field = MetricOutlineField(inset_m=0.5)
    assert field.expression.sql == "ST_Multi(ST_Buffer(ST_Transform(geom, 32119), -0.5))"
    for copy in (field, field.clone()):
        _, _, _, kwargs = copy.deconstruct()
        assert kwargs["expression"].sql == (
            f"ST_Multi(ST_Buffer(ST_Transform(geom, {MIGRATED_SRID}), -0.5))"
        )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [("CLT_TIME_ZONE", "America/Durham", "CLT_TIME_ZONE=America/New_York"),
     ("CLT_MAP_CENTER", "35.99", "latitude and a longitude"),
     ("CLT_MAP_CENTER", "135.99,-78.9", "latitude and a longitude"),
     ("CLT_METRIC_SRID", "feet", "CLT_METRIC_SRID=32119"),
     ("CLT_METRIC_SRID", "2264", "is in US survey foot, not metres")],
)  # fmt: skip
@pytest.mark.django_db
def test_a_mistyped_place_setting_is_refused_naming_the_variable(variable, value, says):
    env = {**os.environ, variable: value, "DATABASE_URL": database_url()}
    result = subprocess.run(
        [str(CLT), "doctor"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert says in result.stdout + result.stderr


def test_the_place_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLT_TIME_ZONE", "America/New_York")
    monkeypatch.setenv("CLT_MAP_CENTER", "35.994, -78.8986")
    assert clt_settings._env_time_zone("CLT_TIME_ZONE", "America/Chicago") == "America/New_York"
    assert clt_settings._env_lat_lon("CLT_MAP_CENTER", (0, 0)) == DURHAM


@pytest.mark.django_db
@override_settings(CLT_METRIC_SRID=NC_METRES)
def test_doctor_says_to_migrate_when_the_outlines_are_in_another_crs():
    with pytest.raises(doctor.Missing, match=r"EPSG:26995.*Fix: clt migrate"):
        doctor.check_place()


@pytest.mark.django_db
def test_doctor_names_the_trusts_place():
    assert doctor.check_place().startswith("EPSG:26995 (NAD83 / Mississippi West); time zone")


# --- Durham, end to end: migrate, import, measure, move ---------------------------------------


@pytest.fixture
def durham_database():
    """An empty database of its own (the metric columns move with the setting, so no other
    test may share it); yields its DATABASE_URL."""
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_durham"
    server = {key: settings_dict[key.upper()] for key in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as db:
        db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # names made here
        db.execute(f"CREATE DATABASE {name}")
    yield (f"postgis://{server['user']}:{server['password']}@{server['host']}:{server['port']}"
           f"/{name}")  # fmt: skip
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as db:
        db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def clt(database_url: str, metric_srid: int, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "CLT_METRIC_SRID": str(metric_srid),
           "CLT_TIME_ZONE": "America/New_York", "CLT_MAP_CENTER": "35.994,-78.8986"}  # fmt: skip
    result = subprocess.run(
        [str(CLT), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def durham_county_file(folder: Path) -> Path:
    """Six 50 x 100 ft lots in a row in NC State Plane (US feet), as Durham County publishes;
    the odd ones vacant."""
    to_feet = Transformer.from_crs(4326, 2264, always_xy=True)
    x0, y0 = to_feet.transform(DURHAM[1], DURHAM[0])
    lots = [shapely.box(x0 + 50 * i, y0, x0 + 50 * (i + 1), y0 + 100) for i in range(6)]
    frame = gpd.GeoDataFrame(
        {"pin": [f"0821-12-95-{4431 + i}" for i in range(6)],
         "site_addr": [f"{600 + 2 * i} Chapel Hill St" for i in range(6)],
         "land_use": ["R", "VAC", "R", "VAC", "R", "VAC"]},
        geometry=lots, crs="EPSG:2264",
    )  # fmt: skip
    path = folder / "durham.gpkg"
    frame.to_file(path, engine="pyogrio")
    return path


def nearest_lots(database_url: str, metric_srid: int) -> dict[str, float]:
    """APN -> distance in metres of the vacant lots within 300 m of the city centre."""
    found = clt(database_url, metric_srid, "vacant-lots", "--near", "-78.8990,35.9935",
                "--within-m", "300", "--format", "geojson")  # fmt: skip
    features = json.loads(found.stdout)["features"]
    return {f["properties"]["apn"]: f["properties"]["distance_m"] for f in features}


def true_distances(database_url: str) -> dict[str, float]:
    """The same distances on the spheroid (geography), for comparison."""
    with psycopg.connect(database_url.replace("postgis://", "postgresql://", 1)) as db:
        rows = db.execute(
            "SELECT apn, ST_Distance(geom::geography, "
            "ST_SetSRID(ST_MakePoint(-78.8990, 35.9935), 4326)::geography) "
            "FROM parcels_parcel WHERE vacancy_status = 'vacant'"
        ).fetchall()
    return dict(rows)


def metric_columns(database_url: str) -> dict[str, int]:
    """Table -> SRID of each `geom_m`; the overlays' `core_m` (their outline shrunk by
    TOUCHING_M) moved with it, still shrunk, and every index came back."""
    with psycopg.connect(database_url.replace("postgis://", "postgresql://", 1)) as db:
        rows = db.execute(
            "SELECT f_table_name, srid FROM geometry_columns WHERE f_geometry_column = 'geom_m'"
        ).fetchall()
        (core_srid,) = db.execute(
            "SELECT srid FROM geometry_columns WHERE f_geometry_column = 'core_m'"
        ).fetchone()
        (core_sql,) = db.execute(
            "SELECT generation_expression FROM information_schema.columns "
            "WHERE table_name = 'parcels_overlay' AND column_name = 'core_m'"
        ).fetchone()
        indexes = db.execute(
            "SELECT indexname FROM pg_indexes WHERE indexdef ~ '(geom|core)_m' ORDER BY 1"
        ).fetchall()
    assert [name for (name,) in indexes] == [
        "easement_geom_m", "overlay_core_m", "overlay_geom_m", "parcel_geom_m",
        "parcel_vacant_geom_m",
    ]  # the partial index of vacant lots came back with the column
    tables = dict(rows)
    assert core_srid == tables["parcels_overlay"]
    assert f"st_buffer(st_transform(geom, {core_srid}), ('-0.5'" in core_sql.lower(), core_sql
    return tables


@pytest.mark.slow
@pytest.mark.django_db
def test_a_durham_trust_imports_its_county_and_measures_it_in_its_own_metres(
    tmp_path, durham_database
):
    migrated = clt(durham_database, NC_METRES, "migrate")
    assert "parcels_parcel.geom_m: EPSG:26995 -> EPSG:32119" in migrated.stdout
    metric_tables = ("parcels_parcel", "parcels_overlay", "parcels_conservationeasement")
    assert metric_columns(durham_database) == dict.fromkeys(metric_tables, NC_METRES)

    clt(durham_database, NC_METRES, "import-parcels", str(durham_county_file(tmp_path)),
        "--jurisdiction", "other", "--vacant-codes", "VAC", "--quiet")  # fmt: skip
    measured, truth = nearest_lots(durham_database, NC_METRES), true_distances(durham_database)
    assert sorted(measured) == ["0821-12-95-4432", "0821-12-95-4434", "0821-12-95-4436"]
    for apn, metres in measured.items():  # to the decimetre the finder rounds to
        assert metres == pytest.approx(truth[apn], abs=0.15)

    # The trust changes its mind (UTM): one migrate moves every outline, nothing else.
    moved = clt(durham_database, UTM_17N, "migrate")
    assert "parcels_parcel.geom_m: EPSG:32119 -> EPSG:32617 (6 rows)" in moved.stdout
    assert metric_columns(durham_database)["parcels_parcel"] == UTM_17N
    assert nearest_lots(durham_database, UTM_17N) == pytest.approx(measured, abs=0.3)


# --- the maps open where the trust is -----------------------------------------------------------


@pytest.mark.django_db
@override_settings(MAP_DEFAULT_CENTER=DURHAM)
def test_the_finder_opens_on_the_trusts_city_before_it_holds_land(client):
    client.force_login(factories.user("staff", is_staff=True, is_superuser=True))
    page = client.get("/finder/").content.decode()
    assert '<script id="map-center" type="application/json">[35.994, -78.8986]</script>' in page
    assert "32.2988" not in page


def test_the_outline_editor_opens_on_the_trusts_city():
    """Where staff draw a parcel by hand (django-leaflet reads it once, at start-up)."""
    code = "import django; django.setup(); from parcels.admin import LEAFLET_ADMIN as L; " \
           "print(L['DEFAULT_CENTER'])"  # fmt: skip
    env = {**os.environ, "CLT_MAP_CENTER": "35.994,-78.8986",
           "DJANGO_SETTINGS_MODULE": "clt.settings"}  # fmt: skip
    shown = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert shown.stdout.strip() == "(35.994, -78.8986)", shown.stderr


@override_settings(CLT_METRIC_SRID=NC_METRES)
def test_an_import_refusal_suggests_the_trusts_own_crs_not_mississippis():
    from parcels.importing import _srid_example

    assert _srid_example() == "32119 for NAD83 / North Carolina"
    with override_settings(CLT_METRIC_SRID=MIGRATED_SRID):
        assert _srid_example() == "2255 for NAD83 / Mississippi West in US feet"


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_a_crs_in_feet_stops_every_command_before_it_starts(command):
    """Refused by the settings themselves: the system check alone was skipped by `clt migrate`
    and the server, and the first search near a point was a 500 (QA re-test, finding 1)."""
    env = {**os.environ, "CLT_METRIC_SRID": "2264", "DATABASE_URL": "postgis://x:y@127.0.0.1:1/z"}
    result = subprocess.run([str(CLT), command], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode != 0
    assert "CLT_METRIC_SRID=2264 (NAD83 / North Carolina (ftUS)) is in US survey foot" in (
        result.stdout + result.stderr
    )


@pytest.mark.django_db
@override_settings(MAP_DEFAULT_CENTER=DURHAM)
def test_migrate_and_doctor_say_when_the_map_is_outside_the_metric_crs(capsys):
    from clt.cli import _say_place_warnings

    _say_place_warnings()
    said = capsys.readouterr()
    assert "warning: The map opens at 35.994,-78.8986 (CLT_MAP_CENTER), outside" in (
        said.out + said.err
    )
    with pytest.raises(doctor.Missing, match="Fix: Set CLT_METRIC_SRID"):
        doctor.check_place()


# North Carolina and around it, as `places.metric_domain(32119)` gives it (5° beyond its area).
NC_DOMAIN = (-89.33, 28.83, -70.38, 41.59)


@pytest.mark.django_db
@override_settings(MAP_DEFAULT_CENTER=DURHAM)
def test_migrate_and_doctor_say_when_the_land_on_record_is_outside_the_metric_crs(
    capsys, monkeypatch
):
    # A registry that loaded the demo (Jackson), then set Durham's place: its parcels lie
    # outside North Carolina's CRS, and the finder would refuse a point on them.
    from clt.cli import _say_place_warnings

    factories.parcel(geom=factories.lot(-90.8, 32.3))  # west of NC's domain
    factories.parcel(geom=factories.lot(-90.8, 32.4))
    factories.parcel(geom=factories.lot(*DURHAM[::-1]))
    monkeypatch.setattr("clt.places.metric_domain", lambda srid: NC_DOMAIN)

    _say_place_warnings()
    said = capsys.readouterr()
    assert "warning: 2 current parcels lie outside where CLT_METRIC_SRID's EPSG:26995" in (
        said.out + said.err
    )
    with pytest.raises(doctor.Missing, match="2 current parcels lie outside.*empty database"):
        doctor.check_place()


@pytest.mark.django_db
def test_land_inside_the_metric_crs_raises_no_word(capsys):
    from clt.cli import _say_place_warnings

    factories.parcel()  # West Jackson, in Mississippi West
    _say_place_warnings()

    assert "warning" not in capsys.readouterr().out
    assert doctor.check_place().startswith("EPSG:26995")
