"""An import says how many parcels are vacant, and a vacant code that matches nothing is named."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from parcels.models import ImportRun, Parcel
from tests.parcels.test_importing import cli, county_frame, lot_ft, run, write

pytestmark = pytest.mark.django_db


def residential_shapefile(path: Path, vacant: int, occupied: int) -> Path:
    """Lots coded VAC-RES (`vacant` of them) then RES, with no vacant column: the land-use
    code alone says which are vacant, as in the clerk's county file."""
    n = vacant + occupied
    frame = gpd.GeoDataFrame(
        {"apn": [f"072-040-{i:03d}" for i in range(n)],
         "land_use": ["VAC-RES"] * vacant + ["RES"] * occupied},
        geometry=[lot_ft(i % 10, i // 10) for i in range(n)],
        crs="EPSG:2255",
    )  # fmt: skip
    return write(frame, path)


def mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "madison.toml"
    path.write_text(text)
    return path


def import_cli(source: Path, tmp_path: Path, *options: str):
    return cli("import-parcels", str(source), "-j", "madison-ms", "--quiet",
               "--rejects-dir", str(tmp_path / "rejects"), *options)  # fmt: skip


@pytest.fixture
def three_vacant_on_record(tmp_path):
    """The clerk's file imported with the right code: 3 vacant, 6 occupied."""
    source = residential_shapefile(tmp_path / "madison.shp", 3, 6)
    right = mapping(tmp_path, 'vacant_codes = ["VAC-RES"]\n')
    result = import_cli(source, tmp_path, "--mapping", str(right))
    assert result.exit_code == 0, result.output
    assert "clt: madison-ms parcels after this import: 3 vacant, 6 occupied, 0 unknown" in (
        result.output
    )
    return source


def test_a_typo_in_a_vacant_code_is_named_with_the_code_the_file_has(
    three_vacant_on_record, tmp_path
):
    typo = mapping(tmp_path, 'vacant_codes = ["VAC_RES"]\n')

    result = import_cli(three_vacant_on_record, tmp_path, "--mapping", str(typo))

    assert result.exit_code == 0, result.output
    # The codes changed: every row is read again, and the 3 it makes occupied are changed.
    assert "0 new, 3 changed, 6 unchanged" in result.output
    assert (
        "clt: madison-ms parcels after this import: 0 vacant, 9 occupied, 0 unknown "
        "(before: 3 vacant, 6 occupied, 0 unknown)\n"
    ) in result.output
    warning = (
        "warning: vacant code 'VAC_RES' matches no row; the file's land-use codes include "
        "'VAC-RES' (3 rows)"
    )
    assert f"clt: {warning}\n" in result.output
    assert ImportRun.objects.latest("started_at").message == warning


def test_a_dry_run_shows_the_vacancy_counts_and_the_typo(three_vacant_on_record, tmp_path):
    typo = mapping(tmp_path, 'vacant_codes = ["VAC_RES"]\n')

    result = import_cli(three_vacant_on_record, tmp_path, "--mapping", str(typo), "--dry-run")

    assert result.exit_code == 0, result.output
    assert (
        "clt: madison-ms parcels if this file is imported: 0 vacant, 9 occupied, 0 unknown "
        "(now: 3 vacant, 6 occupied, 0 unknown)\n"
    ) in result.output
    assert "clt: warning: vacant code 'VAC_RES' matches no row; the file's land-use codes " \
           "include 'VAC-RES' (3 rows)\n" in result.output  # fmt: skip
    assert Parcel.objects.filter(vacancy_status="vacant").count() == 3


def test_the_counts_are_the_registrys_even_when_no_row_is_sent(three_vacant_on_record, tmp_path):
    right = mapping(tmp_path, 'vacant_codes = ["VAC-RES"]\n')

    result = import_cli(three_vacant_on_record, tmp_path, "--mapping", str(right))

    assert "9 unchanged" in result.output
    assert (
        "clt: madison-ms parcels after this import: 3 vacant, 6 occupied, 0 unknown (unchanged)"
    ) in result.output
    assert "warning" not in result.output


def test_a_code_given_with_no_close_match_lists_the_files_commonest_codes(tmp_path):
    source = residential_shapefile(tmp_path / "madison.shp", 3, 6)

    result = import_cli(source, tmp_path, "--vacant-codes", "VAC-RES,LOT")

    assert result.exit_code == 0, result.output
    assert (
        "clt: warning: vacant code 'LOT' matches no row; none is close; the file's commonest "
        "land-use codes are 'RES' (6 rows), 'VAC-RES' (3 rows)\n"
    ) in result.output
    assert "'VAC-RES' matches no row" not in result.output


def test_default_vacant_codes_that_match_no_row_are_not_warned_of(tmp_path):
    # county_frame's codes are R1, V, VC, E: the defaults VAC and VACANT match nothing.
    result = import_cli(write(county_frame(), tmp_path / "p.gpkg"), tmp_path)

    assert result.exit_code == 0, result.output
    assert "clt: madison-ms parcels after this import: 3 vacant, 3 occupied, 0 unknown" in (
        result.output
    )
    assert "warning" not in result.output


def test_many_vacant_parcels_turned_occupied_are_warned_of(tmp_path):
    source = residential_shapefile(tmp_path / "madison.shp", 12, 8)
    assert import_cli(source, tmp_path, "--vacant-codes", "VAC-RES").exit_code == 0

    result = import_cli(source, tmp_path, "--vacant-codes", "RES-VAC")

    assert result.exit_code == 0, result.output
    assert (
        "clt: warning: this import made 12 of the 12 vacant parcels (100%) no longer vacant "
        "(12 occupied), and the finder no longer offers them; unless the county re-classed "
        "them, check the vacant codes (RES-VAC) against the file's land-use codes ('VAC-RES' "
        "(12 rows), 'RES' (8 rows))\n"
    ) in result.output


def test_a_few_vacant_parcels_turned_occupied_are_not_warned_of(tmp_path):
    source = residential_shapefile(tmp_path / "madison.shp", 12, 8)
    assert import_cli(source, tmp_path, "--vacant-codes", "VAC-RES").exit_code == 0
    frame = gpd.read_file(source, engine="pyogrio")
    frame.loc[:1, "land_use"] = "RES"  # the county built on two lots

    result = import_cli(write(frame, tmp_path / "next.shp"), tmp_path, "--vacant-codes",
                        "VAC-RES")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "10 vacant, 10 occupied, 0 unknown (before: 12 vacant, 8 occupied" in result.output
    assert "warning" not in result.output


# --- the mapping file's keys --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('vacant_code = ["VAC-RES"]',
         "unknown keys ['vacant_code'] (did you mean 'vacant_codes'?)"),
        ('apn = "PARCELNO"\nforfeited_owner = []',
         "unknown keys ['apn', 'forfeited_owner'] ('apn' is a parcel field: put it under "
         "[fields]; did you mean 'forfeited_owners' for 'forfeited_owner'?)"),
        ('[fields]\nland_us = "LUC"',
         "fields.land_us = \"LUC\": 'land_us' is not a parcel field (one of apn, address, "
         "owner_of_record, land_use, zoning, assessed_land, assessed_improvement, vacant, "
         "tax_status); did you mean 'land_use'?"),
    ],
)  # fmt: skip
def test_a_mistyped_mapping_key_is_refused_with_the_key_meant(tmp_path, text, said):
    source = residential_shapefile(tmp_path / "madison.shp", 3, 6)
    path = mapping(tmp_path, text + "\n")

    result = import_cli(source, tmp_path, "--mapping", str(path))

    assert result.exit_code == 1
    assert result.output == f"Error: --mapping: {path}: {said}\n"


def test_a_mistyped_field_flag_is_refused_with_the_field_meant(tmp_path):
    source = residential_shapefile(tmp_path / "madison.shp", 3, 6)

    result = import_cli(source, tmp_path, "--field", "vacancy=land_use")

    assert result.exit_code == 1
    assert "'vacancy' is not a parcel field" in result.output
    assert "did you mean 'vacant'?" in result.output


def test_python_callers_get_the_vacancy_warnings_on_the_run(tmp_path):
    source = residential_shapefile(tmp_path / "madison.shp", 3, 6)
    said: list[str] = []

    result = run(source, tmp_path, vacant_codes=("VAC_RES",), log=said.append)

    assert result.message == (
        "warning: vacant code 'VAC_RES' matches no row; the file's land-use codes include "
        "'VAC-RES' (3 rows)"
    )
    assert said[-1] == "clt: hinds-ms parcels after this import: 0 vacant, 9 occupied, 0 unknown "\
                       "(before: 0 vacant, 0 occupied, 0 unknown)"  # fmt: skip
