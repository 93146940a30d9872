"""The leases app's `clt` commands: resale-price, holdings, load-index, report.

Most run in-process (click's CliRunner) against the test database, so they see each test's
data; the README example and one database command also run as real processes.
"""

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from clt.cli import main
from leases.indexes import INDEX_DIR
from leases.models import IndexSeries
from leases.report import report_csv, stewardship_report
from parcels.demo import load_demo_neighbourhood
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FORMULA = "docs/examples/appraisal-25.json"
EXAMPLE_INPUTS = "docs/examples/appraisal-25-inputs.json"


@pytest.fixture
def clt(monkeypatch):
    """Run `clt ...` in this process, on the test database pytest-django set up."""
    monkeypatch.setattr("leases.cli.setup_django", lambda **kwargs: None)
    monkeypatch.chdir(ROOT)

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def demo():
    load_demo_neighbourhood()


def readme_example() -> tuple[str, str]:
    """The command and the output shown in the README's resale section."""
    text = (ROOT / "README.md").read_text()
    command = re.search(r"```sh\n(clt resale-price --formula .*?)\n```", text).group(1)
    output = re.search(r"```text\n(.*?)\n```", text, re.S).group(1)
    return command, output


# --- resale-price from files ---------------------------------------------------------------------


def test_the_readme_example_prints_exactly_what_the_docs_show():
    command, shown = readme_example()
    assert command == f"clt resale-price --formula {EXAMPLE_FORMULA} --inputs {EXAMPLE_INPUTS}"
    result = subprocess.run(
        [sys.executable, "-m", "clt.cli", *command.split()[1:]],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "DATABASE_URL": "postgis://nobody@127.0.0.1:9/none"},  # no database
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == shown
    assert shown.endswith("Maximum resale price                $281,250.00")


def test_published_example_1_as_json_gives_the_price_lines_formula_and_inputs(clt):
    result = clt("resale-price", "--formula", EXAMPLE_FORMULA, "--inputs", EXAMPLE_INPUTS, "--json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["price"] == "281250.00"
    assert body["lines"][-1] == {
        "label": "Owner's share: 25% of the increase", "amount": "31250.00", "kind": "item",
    }  # fmt: skip
    assert body["formula"] == {
        "type": "appraisal_share", "share": "0.25", "share_of": "increase",
        "increase_from": "appraisal_at_purchase", "round_to": "cent",
    }  # fmt: skip
    assert body["inputs"]["appraisal_at_resale"] == "475000"
    assert body["inputs"]["sale_date"] == "2021-08-16"


# --- resale-price for a lease --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lease_is_priced_from_its_own_records(clt, demo):
    result = clt("resale-price", "--lease", "GL-2016-001", "--sale-date", "2026-11-01")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "GL-2016-001, 1418 Rose St: sale on 2026-11-01"
    assert (
        "Appraised value at purchase (2024-09-05, Capitol City Valuations (demo)) $128,000.00"
    ) in [" ".join(line.split()) for line in lines]
    assert lines[-1].split() == ["Maximum", "resale", "price", "$73,250.00"]


@pytest.mark.django_db
def test_a_given_appraisal_replaces_the_one_on_record(clt, demo):
    result = clt(
        "resale-price", "--lease", "GL-2016-001", "--sale-date", "2026-11-01",
        "--appraisal", "140000", "--json",
    )  # fmt: skip
    body = json.loads(result.stdout)
    assert body["price"] == "75000.00"  # 72,000 + 25% of (140,000 - 128,000)
    assert body["inputs"]["appraisal_at_resale"] == "140000"
    assert body["inputs"]["appraisal_at_purchase"] == "128000.00"
    assert body["formula"]["steps"] == [
        {"type": "lesser_of", "other": {"type": "appraised_value", "round_to": "cent"}}
    ]


@pytest.mark.django_db
def test_an_index_lease_reads_the_loaded_table(clt, demo):
    # Its appraisal of 2025-10-01 caps the price: a sale within 12 months of it.
    result = clt("resale-price", "--lease", "GL-2019-004", "--sale-date", "2026-09-01", "--json")
    body = json.loads(result.stdout)
    assert body["price"] == "73065.60"  # 59,000 x 77,400 / 62,500, under the 84,000 appraisal
    assert body["inputs"]["indexes"]["illustrative-demo-ami"]["table"]["2019"] == "62500.0000"


@pytest.mark.django_db
def test_inputs_the_registry_does_not_keep_are_given_with_input(clt, demo):
    result = clt(
        "resale-price", "--lease", "GL-2017-015", "--sale-date", "2026-11-01",
        "--input", "principal_paid=30000", "--input", "seller_closing_costs=2500",
        "--input", "seller_net_proceeds=150000",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Inflation on the purchase price: 2% a year, compound, over 9 completed years" in (
        result.stdout
    )
    assert "(50% of cost $18,400.00)" in result.stdout
    assert result.stdout.splitlines()[-1].split()[-1] == "$150,000.00"  # the net-proceeds cap


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key", ["purchase_price", "purchase_date", "sale_date", "appraisal_at_purchase",
            "lease_fee_monthly", "taxes_monthly", "improvements"],
)  # fmt: skip
def test_an_input_the_registry_keeps_is_refused_naming_the_key(clt, demo, key):
    result = clt(
        "resale-price", "--lease", "GL-2019-003", "--sale-date", "2026-10-01",
        "--input", f"{key}=1000000",
    )  # fmt: skip
    assert result.exit_code == 1
    [message] = result.stderr.splitlines()
    assert message.startswith(f"Error: --input {key}: lease GL-2019-003's records give it;")
    assert message.endswith("principal_paid, seller_closing_costs, seller_net_proceeds")


@pytest.mark.django_db
def test_an_appraisal_at_resale_input_is_sent_to_the_appraisal_option(clt, demo):
    result = clt(
        "resale-price", "--lease", "GL-2019-003", "--sale-date", "2026-10-01",
        "--input", "appraisal_at_resale=90000",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "(give --appraisal AMOUNT)" in result.stderr


# --- holdings ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_holdings_as_json_on_two_dates(clt, demo):
    mid_2024 = json.loads(clt("holdings", "--as-of", "2024-06-30", "--format", "json").stdout)
    late_2026 = json.loads(clt("holdings", "--as-of", "2026-11-01", "--format", "json").stdout)
    assert (len(mid_2024["holdings"]), len(mid_2024["leases_in_force"])) == (20, 15)
    assert (len(late_2026["holdings"]), len(late_2026["leases_in_force"])) == (25, 15)
    farm = next(h for h in mid_2024["holdings"] if h["name"] == "Freedom Farm")
    assert farm == {
        "name": "Freedom Farm", "use": "urban_farm", "acquired_on": "2018-08-21",
        "acquired_via": "purchase", "price": "52000.00", "deed_reference": "Book 7057 Page 349",
        "parcels": ["166-156-003", "166-156-004", "166-156-005"], "acres": "7.00",
        "area_m2": "28346.91", "homes": 0,
        "leases_in_force": ["GL-2019-016"],
    }  # fmt: skip
    references = {lease["reference"] for lease in mid_2024["leases_in_force"]}
    assert "GL-2021-012" in references  # ended in October 2024
    assert "GL-2025-011" not in references  # signed in 2025


@pytest.mark.django_db
def test_holdings_as_csv_and_table(clt, demo):
    result = clt("holdings", "--as-of", "2024-06-30", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 20
    assert rows[0]["holding"] == "1418 Rose St"
    assert rows[0]["leases_in_force"] == "GL-2016-001"
    assert "held 20 holdings (27 parcels, 11.08 acres); 15 leases in force" in result.stderr
    table = clt("holdings", "--as-of", "2024-06-30").stdout
    assert table.startswith("Held on 2024-06-30:\nholding ")
    assert "Leases in force on 2024-06-30:" in table


@pytest.mark.django_db
def test_holdings_before_the_trust_began_are_none(clt, demo):
    result = clt("holdings", "--as-of", "2010-01-01", "--format", "json")
    assert json.loads(result.stdout)["holdings"] == []


def test_holdings_refuses_a_date_that_is_not_iso(clt):
    result = clt("holdings", "--as-of", "30/06/2024")
    assert result.exit_code == 2
    assert "'--as-of'" in result.stderr


@pytest.mark.django_db
def test_holdings_as_csv_keeps_a_formula_typed_by_staff_from_running_in_a_spreadsheet(clt):
    held = factories.holding(
        [factories.parcel()], name="@SUM(1+1)*cmd|' /C calc'!A0", deed_reference="+1+1",
        price=Decimal("-12.50"),
    )  # fmt: skip
    factories.lease(holding_=held, reference='=HYPERLINK("http://e.x","y")')
    result = clt("holdings", "--as-of", "2024-06-30", "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row["holding"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert row["deed_reference"] == "'+1+1"
    assert row["leases_in_force"] == '\'=HYPERLINK("http://e.x","y")'
    # Figures and dates the registry holds stay figures (an amount, not text)
    assert (row["price"], row["acquired_on"]) == ("-12.50", "2017-03-01")


# --- load-index ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_load_index_loads_a_table_with_its_source(clt):
    result = clt(
        "load-index", str(INDEX_DIR / "jackson-ms-hud-income-limits-2024.csv"),
        "--series", "jackson-ms-hud-income-limits", "--kind", "hud_income_limit",
        "--source", "HUD, 2024 income limits (approximate, third-party)",
        "--area", "Jackson, MS MSA",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "jackson-ms-hud-income-limits' (hud_income_limit): 3 values" in result.stderr
    series = IndexSeries.objects.get(name="jackson-ms-hud-income-limits")
    assert (series.area, series.values.count()) == ("Jackson, MS MSA", 3)


def load_ami(clt, path: Path, *extra: str):
    return clt("load-index", str(path), "--series", "illustrative-demo-ami", "--kind", "ami",
               "--source", "HUD FY2027", *extra)  # fmt: skip


@pytest.mark.django_db
def test_load_index_adds_this_years_figure_and_keeps_the_earlier_years(clt, demo, tmp_path):
    path = tmp_path / "ami2027.csv"
    path.write_text("year,value\n2027,79000\n")

    result = load_ami(clt, path)

    assert result.exit_code == 0, result.output
    assert "13 values (added 1, updated 0, kept 12)" in result.stderr
    price = clt("resale-price", "--lease", "GL-2022-013", "--sale-date", "2026-11-24")
    assert price.exit_code == 0, price.output
    assert "$351,303.07" in price.stdout  # 310,000 x 77,400 / 68,300, as before the load


@pytest.mark.django_db
def test_load_index_replace_refuses_to_drop_a_year_a_lease_reads(clt, demo, tmp_path):
    path = tmp_path / "ami2027.csv"
    path.write_text("year,value\n2027,79000\n")

    result = load_ami(clt, path, "--replace")

    assert result.exit_code == 1
    assert "lease GL-2022-013 reads year 2022 (the index for its purchase on 2022-04-01)" in (
        result.stderr
    )
    assert IndexSeries.objects.get(name="illustrative-demo-ami").values.count() == 12


# --- report --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_report_prints_every_section_and_writes_the_csv(clt, demo, tmp_path):
    out = tmp_path / "report.csv"
    result = clt("report", "--as-of", "2026-11-01", "--csv", str(out))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("Stewardship report as of 2026-11-01")
    assert re.search(r"Total\s+25\s+33\s+12\.04\s+24", text)
    assert "Fees in arrears: $862.29 owed on 2 of 15 leases in force" in text
    assert re.search(r"Notice of foreclosure\s+1", text)
    assert re.search(r"Total\s+2 resales to households.*\$91,000\.00\s+39\.7%", text)
    assert "buyer income % AMI" in text  # as on the page and in the CSV
    assert re.search(r"2024-09-20 .*43\.8%\s+57\.4%", text)
    assert out.read_text() == report_csv(stewardship_report(dt.date(2026, 11, 1)))


@pytest.mark.django_db
def test_report_on_an_earlier_date_counts_what_was_then(clt, demo):
    text = clt("report", "--as-of", "2024-06-30").stdout
    assert re.search(r"Total\s+20\s+27\s+11\.08\s+18", text)  # the fourplex: built 2024
    assert re.search(r"Inspection\s+1", text)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_report_runs_as_a_real_process_on_the_database():
    from django.db import connection

    load_demo_neighbourhood()
    db = connection.settings_dict
    url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    result = subprocess.run(
        [sys.executable, "-m", "clt.cli", "holdings", "--as-of", "2024-06-30", "--format", "csv"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "DATABASE_URL": url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 21  # header + 20 holdings
