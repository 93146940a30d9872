"""`clt import-registry`: a trust's records come in from a folder of CSV files, once, whole.

The folder is the demo's own tables (fixtures/west_jackson/, the format's worked example), on
the demo's parcels brought in as a county's are (`import_parcels`), so these tests also prove
the demo's files pass every check the staff pages make (the demo loader itself skips them).
"""

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from clt.cli import main
from clt.registry_files import TABLES, RegistryFileError
from clt.registry_import import import_registry, template_readme, write_template
from leases.models import GroundLease, Party, Resale
from parcels.demo import DEMO_DIR
from parcels.importing import import_parcels
from parcels.models import ConservationEasement, Holding

pytestmark = pytest.mark.django_db

# The demo folder's files that are not the format's: its own parcels and the generator's.
NOT_THE_FORMAT = {"parcels.geojson", "overlays.geojson", "expected.json", "make_demo.py"}


@pytest.fixture
def county(tmp_path):
    """The demo's parcels, imported as the county's file would be."""
    import_parcels(DEMO_DIR / "parcels.geojson", reject_dir=tmp_path / "rejects")


@pytest.fixture
def folder(tmp_path) -> Path:
    """A copy of the demo's tables: what a trust would bring."""
    target = tmp_path / "our-records"
    shutil.copytree(DEMO_DIR, target, ignore=lambda _, names: NOT_THE_FORMAT & set(names))
    return target


def counts() -> tuple[int, int, int, int, int]:
    return (Holding.objects.count(), Party.objects.count(), GroundLease.objects.count(),
            Resale.objects.count(), ConservationEasement.objects.count())  # fmt: skip


def demo_rows(file: str) -> int:
    return len((DEMO_DIR / file).read_text().splitlines()) - 1


def test_the_demo_tables_come_in_whole_through_every_check(county, folder):
    summary = import_registry(folder, "hinds-ms")
    assert summary.holdings.holdings == demo_rows("holdings.csv") == Holding.objects.count()
    assert summary.leases.leases == demo_rows("leases.csv") == GroundLease.objects.count()
    assert summary.leases.resales == demo_rows("resales.csv") == Resale.objects.count()
    assert summary.leases.easements == ConservationEasement.objects.count() > 0
    assert summary.holdings.acquisition_events == demo_rows("acquisitions.csv")
    # each record's history names the import, the file and the row
    lease = GroundLease.objects.get(reference="GL-2016-001")
    event = lease.events.order_by("pgh_id").first()
    assert event.pgh_context.metadata["source"] == "import our-records leases.csv row 2"


def test_a_dry_run_checks_everything_and_writes_nothing(county, folder):
    summary = import_registry(folder, "hinds-ms", dry_run=True)
    assert summary.leases.leases == demo_rows("leases.csv")
    assert counts() == (0, 0, 0, 0, 0)


def test_a_bad_row_in_the_last_file_names_it_and_nothing_is_written(county, folder):
    resales = folder / "resales.csv"
    lines = resales.read_text().splitlines()
    lines[2] = lines[2].replace("2024-09-20", "2024-20-09")  # closed_on, month 20
    resales.write_text("\n".join(lines) + "\n")
    refusal = r"resales.csv row 3 closed_on: '2024-20-09' is not a date"
    with pytest.raises(RegistryFileError, match=refusal):
        import_registry(folder, "hinds-ms")
    assert counts() == (0, 0, 0, 0, 0)


def test_importing_again_is_refused_listing_what_is_already_in(county, folder):
    import_registry(folder, "hinds-ms")
    before = counts()
    with pytest.raises(RegistryFileError) as refused:
        import_registry(folder, "hinds-ms")
    message = str(refused.value)
    assert "already in the registry" in message
    assert "leases.csv row 2: lease GL-2016-001" in message
    assert "holdings.csv row 2: holding '1418 Rose St'" in message
    assert "more in the same file" in message  # dozens, not listed one by one
    assert counts() == before


def test_a_parcel_not_yet_imported_says_to_import_the_county_first(folder):
    with pytest.raises(RegistryFileError, match=r"holdings.csv row 2 apns: no parcel with APN "
                       r"'165-142-004' in hinds-ms; import the county's parcels first"):
        import_registry(folder, "hinds-ms")


def write(folder: Path, file: str, text: str, encoding: str = "utf-8") -> None:
    (folder / file).write_text(text, encoding=encoding)


def test_what_a_spreadsheet_writes_is_read(county, tmp_path):
    folder = tmp_path / "from-excel"
    folder.mkdir()
    # Excel's CSV UTF-8: a byte-order mark; cells padded; an amount with $ and commas; yes/no;
    # a row of empty cells at the end; optional columns left out; the APN as the tax bill
    # does not write it (the county's is 165-142-004).
    write(folder, "holdings.csv",
          "\ufeffname,current_use,acquired_via,acquired_on,price,available,apns\r\n"
          " 1418 Rose St ,single_family_home,purchase,2015-08-21,\"$13,000.00\",yes,165142004\r\n"
          ",,,,,,\r\n")  # fmt: skip
    summary = import_registry(folder, "hinds-ms")
    assert summary.holdings.holdings == 1
    holding = Holding.objects.get()
    assert (holding.name, holding.price, holding.available) == ("1418 Rose St", 13000, True)
    assert list(holding.parcels.values_list("apn", flat=True)) == ["165-142-004"]


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("holdings.csv", "name,current_use\n",
         r"holdings.csv: no column 'acquired_via', 'acquired_on', 'apns' \(its columns: name, "),
        ("parties.csv", "key,kind,name,notse\n",
         r"parties.csv: unknown column 'notse'"),
        ("parties.csv", "key,kind,name\nanna,household,Anna, Bo\n",
         r"parties.csv row 2: 4 cells where the header has 3 \(a comma inside a cell needs"),
        ("parties.csv", "key,kind,name\nnene,household,Ren\xe9e\n",
         r"parties.csv: not UTF-8 text .*save it as 'CSV UTF-8'"),
        ("parties.csv", "key,kind,name\nbo,houshold,Bo\n",
         r"parties.csv row 2: kind: Value 'houshold' is not a valid choice"),
        ("leases (1).csv", "reference\n",
         r"leases \(1\).csv: not a file of the registry's format"),
    ],
    ids=["missing columns", "misspelt column", "unquoted comma", "not utf-8", "bad choice",
         "stray file"],
)
def test_a_file_the_registry_cannot_read_is_refused_saying_why(tmp_path, file, text, message):
    folder = tmp_path / "records"
    folder.mkdir()
    write(folder, file, text, encoding="cp1252" if "\xe9" in text else "utf-8")
    with pytest.raises(RegistryFileError, match=message):
        import_registry(folder, "hinds-ms")
    assert Party.objects.count() == 0


def test_the_template_is_every_table_empty_and_its_readme_lists_the_models_choices(tmp_path):
    folder = tmp_path / "template"
    write_template(folder)
    for name, table in TABLES.items():
        assert (folder / name).read_text() == ",".join(table.columns) + "\n"
    readme = template_readme()
    # values come from the models, so they cannot drift from what the registry accepts
    assert "one of purchase, donation, tax_forfeit_patent, city_transfer" in readme
    assert "* acquired_on" in readme
    import_registry(folder, "hinds-ms")  # the empty tables are a valid folder
    with pytest.raises(RegistryFileError, match="already there"):
        write_template(folder)


def test_the_command_says_what_came_in_and_fails_in_one_line(county, folder, monkeypatch):
    monkeypatch.setattr("leases.cli.setup_django", lambda **kwargs: None)
    dry = CliRunner().invoke(main, ["import-registry", str(folder), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "clt: leases.csv: " in dry.output  # progress, a line per file
    assert "dry run, nothing written" in dry.output
    done = CliRunner().invoke(main, ["import-registry", str(folder)])
    assert done.exit_code == 0 and "clt: imported " in done.output
    again = CliRunner().invoke(main, ["import-registry", str(folder)])
    assert again.exit_code == 1 and "Traceback" not in again.output
    assert "already in the registry" in again.output
