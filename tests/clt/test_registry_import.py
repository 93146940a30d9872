"""`clt import-registry`: a trust's records come in from a folder of CSV files, once, whole.

The folder is the demo's own tables (fixtures/west_jackson/, the format's worked example), on
the demo's parcels brought in as a county's are (`import_parcels`), so these tests also prove
the demo's files pass every check the staff pages make (the demo loader itself skips them).
"""

import re
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
    assert summary.warnings == ()  # the worked example has nothing to check
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
                       r"'165-142-004': hinds-ms has no parcels yet; import the county's parcels "
                       r"first"):
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
         r"parties.csv row 2: not UTF-8 text \('nene,household,Ren\xe9e': .*save the file as "
         r"'CSV UTF-8'"),
        ("parties.csv", "key,kind,name\nbo,houshold,Bo\n",
         r"parties.csv row 2 kind: 'houshold' is not one of: household, cooperative"),
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
    assert "one of purchase, donation, tax_forfeit_patent (Tax-forfeit land patent), " in readme
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


# --- one home's story, by hand ----------------------------------------------------------------

HOME = {
    "holdings.csv": "name,current_use,acquired_via,acquired_on,apns\n"
                    "1418 Rose St,single_family_home,purchase,2015-08-21,165-142-004\n",
    "parties.csv": "key,kind,name\nfirst,household,First household\n"
                   "next,household,Next household\ntrust,trust,The trust\n",
    "party_members.csv": "party,name,share\nfirst,Ada First,0.5\nfirst,Bo First,0.5\n"
                         "next,Cy Next,\n",
    "leases.csv": "reference,holding,lessees,starts_on,term_years,permitted_use,fee_monthly,"
                  "purchase_price,purchase_date,formula,status,ended_on,end_reason\n"
                  "GL-1,1418 Rose St,first,2016-03-01,99,Residential,25,62000,2016-03-01,"
                  "fixed,Terminated,2020-02-29,Surrendered\n"
                  "GL-2,1418 Rose St,next,2020-03-01,99,residential,25,60000,2020-03-01,"
                  "fixed,,,\n",
    "resales.csv": "lease,seller,buyer,contract_on,closed_on,formula_price,agreed_price\n",
    "monitoring.csv": "lease,type,on,notes,resolved_on,resolution\n"
                      "GL-2,Occupancy certification,2024-01-10,Certified,2024-01-10,Done\n",
    "formulas/fixed.json": '{"type": "fixed_rate", "method": "simple", "rate": "0.02"}',
}  # fmt: skip


def home_folder(tmp_path: Path, **changed: str) -> Path:
    """One home's records, with `changed` files (by name, dots as underscores) replaced."""
    folder = tmp_path / "home"
    (folder / "formulas").mkdir(parents=True)
    for name, text in HOME.items():
        write(folder, name, changed.get(name.replace(".", "_").replace("/", "_"), text))
    return folder


def test_a_home_leased_again_after_its_lease_ended_comes_in_whole(county, tmp_path):
    """The next lease on a home starts after the one before ended: it was refused as
    overlapping when every lease was written in force and ended after the rest. Labels as
    the staff pages show them ("Terminated", "Residential", "Occupancy certification") are
    read as the codes, and a blank share is the whole interest."""
    assert import_registry(home_folder(tmp_path), "hinds-ms").warnings == ()
    ended, current = GroundLease.objects.order_by("starts_on")
    assert (ended.status, str(ended.ended_on), current.status) == (
        "terminated", "2020-02-29", "active")
    assert current.monitoring.get().type == "occupancy_certification"
    assert Party.objects.get(name="Next household").members.get().share == 1


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"leases_csv": HOME["leases.csv"].replace("fixed,Terminated,", "fixed,,")},
         r"leases.csv row 2: status: The lease ended on 2020-02-29, so it cannot be active"),
        ({"leases_csv": HOME["leases.csv"].replace("Terminated", "Ended")},
         r"leases.csv row 2 status: 'Ended' is not one of: active, in_default, terminated, "),
        ({"party_members_csv": HOME["party_members.csv"].replace("Bo First,0.5", "Bo First,0.75")},
         r"party_members.csv row 3 share: first's members' shares add up to 1.25"),
        ({"monitoring_csv": HOME["monitoring.csv"].replace("2024-01-10,Done", ",Done")},
         r"monitoring.csv row 2 resolved_on: the row gives a resolution but no date"),
        ({"resales_csv": HOME["resales.csv"] + "GL-2,next,trust,2024-05-01,2024-04-01,1,1\n"},
         r"resales.csv row 2: closed_on: 2024-04-01 is before the contract date 2024-05-01"),
        ({"resales_csv": HOME["resales.csv"] + "GL-2,next,first,2023-05-01,2023-06-01,1,1\n"
                                               "GL-2,next,trust,2024-05-01,2024-06-01,1,1\n"},
         r"resales.csv row 3: seller: Next household sells, but the sale before it .* was to "
         r"First household: the chain of owners is broken"),
        ({"resales_csv": HOME["resales.csv"] + "GL-2,next,first,2023-05-01,2023-06-01,1,1\n"},
         r"resales.csv row 2 buyer: the last sale of GL-2 was to First household, but leases.csv "
         r"gives its lessees today as Next household"),
        ({"resales_csv": HOME["resales.csv"] + "GL-2,next,next,2024-05-01,,1,1\n"},
         r"resales.csv row 2: buyer: Next household is both seller and buyer"),
        # A sale under contract is checked as the staff pages record one (QA s19): its formula
        # price is the formula's ($60,000 at 2% simple over 4 years), its seller the lessee.
        ({"resales_csv": HOME["resales.csv"] + "GL-2,next,first,2024-05-01,,90000,80000\n"},
         r"resales.csv row 2: formula_price: 90000(.00)? is above the formula's price on "
         r"2024-05-01: 64800.00 \(its lines: clt resale-price --lease GL-2 --sale-date "),
        ({"resales_csv": HOME["resales.csv"] + "GL-2,first,next,2024-05-01,,1,1\n"},
         r"resales.csv row 2: seller: First household is not a lessee of lease GL-2"),
        ({"resales_csv": HOME["resales.csv"] + "GL-2,next,first,2099-05-01,,1,1\n"},
         r"resales.csv row 2: contract_on: 2099-05-01 is after today .* record a sale once its "
         r"contract is signed"),
        ({"resales_csv": HOME["resales.csv"] + "GL-2,next,first,2019-05-01,,1,1\n"},
         r"resales.csv row 2: contract_on: 2019-05-01 is before the lessee's purchase of the "
         r"home on 2020-03-01"),
        ({"resales_csv": HOME["resales.csv"] + "GL-2,next,first,2023-05-01,,1,1\n"
                                               "GL-2,first,next,2024-05-01,2024-06-01,1,1\n"},
         r"resales.csv row 3: contract_on: the sale before it .* has not closed"),
        ({"resales_csv": HOME["resales.csv"] + "GL-1,first,next,2021-05-01,2021-06-01,1,1\n"},
         r"resales.csv row 2: closed_on: Lease GL-1 ended on 2020-02-29 \(terminated\), "
         r"before this closing on 2021-06-01"),
        ({"resales_csv": HOME["resales.csv"] + "GL-2,next,trust,2024-05-01,2024-06-01,1,1\n"},
         r"resales.csv row 2 buyer: the trust bought the home back on 2024-06-01, so lease GL-2 "
         r"ends that day: give it status terminated and ended_on 2024-06-01"),
        ({"leases_csv": HOME["leases.csv"].replace("Terminated,2020-02-29", "Expired,2027-02-28")},
         r"leases.csv row 2: ended_on: 2027-02-28 is after today .* a lease is recorded as ended "
         r"once it has ended"),
        ({"holdings_csv": HOME["holdings.csv"].replace("165-142-004", "165 142 004")},
         r"no parcel with APN '165' among hinds-ms's 385 parcels.* \(the cell lists 3 APNs, "
         r"'165', '142', '004': spaces separate APNs"),
    ],
    ids=["ended, not said so", "unknown status", "shares above 1", "resolved, no date",
         "closed before its contract", "chain broken", "last buyer not the lessee",
         "sold to itself", "contract above the formula", "contract by another",
         "contract after today", "contract before the purchase",
         "sold before the sale before closed", "closed after the lease ended",
         "bought back, lease not ended", "ended in the future", "APN with spaces"],
)
def test_what_the_staff_pages_would_refuse_is_refused_naming_the_cell(
    county, tmp_path, changed, message
):
    with pytest.raises(RegistryFileError, match=message):
        import_registry(home_folder(tmp_path, **changed), "hinds-ms")
    assert counts() == (0, 0, 0, 0, 0)


def test_a_later_folder_adds_records_to_a_lease_already_in(county, tmp_path):
    import_registry(home_folder(tmp_path), "hinds-ms")
    later = tmp_path / "later"
    later.mkdir()
    write(later, "monitoring.csv", "lease,type,on\nGL-2,inspection,2025-02-01\n")
    summary = import_registry(later, "hinds-ms")
    assert summary.leases.monitoring_events == 1
    assert GroundLease.objects.get(reference="GL-2").monitoring.count() == 2
    with pytest.raises(RegistryFileError, match=r"monitoring.csv row 2: lease GL-2, inspection, "
                       r"2025-02-01"):
        import_registry(later, "hinds-ms")  # the same batch again
    assert GroundLease.objects.get(reference="GL-2").monitoring.count() == 2


def test_every_refused_row_of_a_file_is_listed_in_one_run(county, folder):
    holdings = folder / "holdings.csv"
    lines = holdings.read_text().splitlines()
    for at in (2, 5):  # dates as a US spreadsheet writes them
        fields = lines[at - 1].split(",")
        fields[3] = "8/21/2015"
        lines[at - 1] = ",".join(fields)
    holdings.write_text("\n".join(lines) + "\n")
    with pytest.raises(RegistryFileError) as refused:
        import_registry(folder, "hinds-ms")
    assert str(refused.value).splitlines() == [
        "2 rows refused (nothing was written; correct them and run again):",
        "  holdings.csv row 2 acquired_on: '8/21/2015' is not a date (YYYY-MM-DD)",
        "  holdings.csv row 5 acquired_on: '8/21/2015' is not a date (YYYY-MM-DD)",
    ]
    assert counts() == (0, 0, 0, 0, 0)


def test_an_easement_far_from_the_registrys_land_is_refused(county, folder):
    easements = folder / "easements.geojson"
    text = easements.read_text()
    # Ten degrees east, in Georgia: a file drawn in another CRS and read as degrees.
    moved = re.sub(r"-90\.(\d+)", r"-80.\1", text)
    assert moved != text
    easements.write_text(moved)
    with pytest.raises(RegistryFileError, match=r"easements.geojson feature 1 \(freedom-farm\): "
                       r"geom: The area lies at lon -80.\d+, lat 32.\d+, outside where"):
        import_registry(folder, "hinds-ms")


def test_one_refused_sale_leaves_the_rest_of_its_chain_unjudged(county, tmp_path):
    resales = (HOME["resales.csv"] + "GL-2,next,first,2023-05-01,2023-06-01,1,1\n"
               "GL-2,first,next,2024-05-01,2030-06-01,1,1\n")  # closes after today
    with pytest.raises(RegistryFileError) as refused:
        import_registry(home_folder(tmp_path, resales_csv=resales), "hinds-ms")
    assert "resales.csv row 3: closed_on: 2030-06-01 is after today" in str(refused.value)
    assert "row 2" not in str(refused.value)  # its buyer is not today's lessee: row 3 says why


def test_the_same_record_twice_in_a_later_folder_is_refused(county, tmp_path):
    import_registry(home_folder(tmp_path), "hinds-ms")
    later = tmp_path / "later"
    later.mkdir()
    write(later, "appraisals.csv", "lease,on,value,purpose\nGL-2,2025-02-01,90000,refinance\n"
                                   "GL-2,2025-02-01,90000,Refinance\n")  # fmt: skip
    with pytest.raises(RegistryFileError, match=r"appraisals.csv row 3: lease GL-2, 2025-02-01, "
                       r"refinance \(as row 2\)"):
        import_registry(later, "hinds-ms")


def test_what_is_allowed_but_often_a_slip_comes_in_with_a_word(county, tmp_path):
    folder = home_folder(
        tmp_path,
        holdings_csv="name,current_use,acquired_via,acquired_on,apns,available\n"
                     "1418 Rose St,single_family_home,purchase,2015-08-21,165-142-004,yes\n",
        party_members_csv="party,name,share\nfirst,Ada First,0.5\nfirst,Bo First,0.4\n",
        parties_csv=HOME["parties.csv"] + "again,household,NEXT  Household\n",
    )  # fmt: skip
    summary = import_registry(folder, "hinds-ms")
    assert summary.warnings == (
        "holdings.csv: '1418 Rose St' is offered (available) while lease GL-2 is in force on "
        "it: the public map lists it as available now; right during a resale, else set "
        "available to no on its page",
        "party_members.csv: First household's members' shares add up to 0.9, not 1",
        "parties.csv: party 'NEXT  Household' and 'Next household' differ only in case or "
        "spacing: one typed twice?",
    )
