"""A user's mistake at the command line is one line naming the field, exit code 1, no
traceback, nothing saved: formulas, inputs, leases, dates, money, index tables."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from clt.cli import main
from leases.models import IndexSeries, IndexValue
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
FORMULA = {"type": "appraisal_share", "share": "0.25", "share_of": "increase"}
INPUTS = {
    "purchase_price": "250000",
    "purchase_date": "2014-06-02",
    "sale_date": "2021-08-16",
    "appraisal_at_purchase": "350000",
    "appraisal_at_resale": "475000",
}


@pytest.fixture
def clt(monkeypatch):
    monkeypatch.setattr("leases.cli.setup_django", lambda **kwargs: None)

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def price(clt, tmp_path):
    """`clt resale-price` on a formula and inputs written to files (JSON objects or raw text)."""

    def run(formula=FORMULA, inputs=INPUTS):
        files = []
        for name, body in (("formula.json", formula), ("inputs.json", inputs)):
            path = tmp_path / name
            path.write_text(body if isinstance(body, str) else json.dumps(body))
            files.append(str(path))
        return clt("resale-price", "--formula", files[0], "--inputs", files[1])

    return run


def one_line_error(result) -> str:
    """The single error line; checks the exit code and that there is no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


# --- formulas and inputs from files --------------------------------------------------------------


def test_an_unknown_formula_type_lists_the_known_ones(price):
    error = one_line_error(price(formula={"type": "shared_equity"}))
    assert error.startswith("Error: --formula ")
    assert "type: 'shared_equity' is not a known formula type; known formula types: " in error
    assert "appraisal_share" in error


def test_a_typo_d_key_names_the_key_and_the_closest_valid_one(price):
    error = one_line_error(price(formula={**FORMULA, "shar": "0.25"}))
    assert error.endswith("shar: is not a key of appraisal_share; did you mean 'share'?")


def test_a_typo_d_key_deep_in_a_composed_formula_names_its_path(price):
    formula = {
        "type": "composed",
        "base": FORMULA,
        "steps": [{"type": "selling_allowance", "comission_rate": "0.025"}],
    }
    error = one_line_error(price(formula=formula))
    assert "steps[0].comission_rate: is not a key of selling_allowance" in error


def test_negative_money_names_the_field(price):
    error = one_line_error(price(inputs={**INPUTS, "purchase_price": "-250000"}))
    assert error.startswith("Error: --inputs ")
    assert "purchase_price: must not be negative (got -250000)" in error


def test_non_numeric_money_names_the_field(price):
    error = one_line_error(price(inputs={**INPUTS, "appraisal_at_resale": "475k"}))
    assert "appraisal_at_resale: '475k' is not a number" in error


def test_money_with_fractions_of_a_cent_is_refused(price):
    error = one_line_error(price(inputs={**INPUTS, "purchase_price": "250000.001"}))
    assert "purchase_price: is money: at most two decimal places" in error


def test_a_sale_date_before_the_purchase_names_both_dates(price):
    error = one_line_error(price(inputs={**INPUTS, "sale_date": "2013-01-01"}))
    assert "sale_date" in error
    assert "2013-01-01" in error and "2014-06-02" in error


def test_a_missing_index_year_names_the_year_and_the_series(price):
    formula = {"type": "index", "series": "hud-ami"}
    inputs = {**INPUTS, "indexes": {"hud-ami": {"table": {"2014": "60000", "2020": "64000"}}}}
    error = one_line_error(price(formula=formula, inputs=inputs))
    assert "indexes.hud-ami: has no value for 2021 (the year of the sale_date 2021-08-16)" in error


def test_an_input_a_formula_needs_but_was_not_given_is_named(price):
    inputs = {k: v for k, v in INPUTS.items() if k != "appraisal_at_resale"}
    error = one_line_error(price(inputs=inputs))
    assert "appraisal_at_resale: is needed by the appraisal-share formula" in error


def test_a_file_that_is_not_json_says_where(price):
    error = one_line_error(price(formula='{"type": "appraisal_share", "share": 0.25,,}'))
    assert "not valid JSON (line 1, column 43" in error


def test_a_missing_file_is_named(clt, tmp_path):
    result = clt("resale-price", "--formula", str(tmp_path / "nope.json"), "--inputs", "x.json")
    assert "--formula" in one_line_error(result)
    assert "nope.json: cannot read it" in result.stderr


def test_mixing_the_two_ways_of_pricing_is_a_usage_error(clt):
    result = clt("resale-price", "--lease", "GL-1", "--formula", "f.json")
    assert result.exit_code == 2
    assert "give --lease or --formula/--inputs, not both" in result.stderr
    assert clt("resale-price", "--lease", "GL-1").exit_code == 2  # no --sale-date
    assert clt("resale-price").exit_code == 2


# --- a lease in the registry ---------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_lease_is_named(clt):
    error = one_line_error(
        clt("resale-price", "--lease", "GL-0000-000", "--sale-date", "2025-01-01")
    )
    assert error == "Error: --lease: no ground lease with reference 'GL-0000-000'"


@pytest.mark.django_db
def test_a_lease_sale_date_before_its_purchase_names_both_dates(clt):
    factories.lease(reference="GL-2017-100")
    error = one_line_error(
        clt("resale-price", "--lease", "GL-2017-100", "--sale-date", "2016-01-01")
    )
    assert error == "Error: sale_date: 2016-01-01 is before the purchase on 2017-06-01"


@pytest.mark.django_db
def test_a_negative_or_non_numeric_appraisal_is_named(clt):
    factories.lease(reference="GL-2017-101")
    base = ("resale-price", "--lease", "GL-2017-101", "--sale-date", "2025-01-01")
    assert one_line_error(clt(*base, "--appraisal", "-5")) == (
        "Error: --appraisal: must not be negative (got -5)"
    )
    assert one_line_error(clt(*base, "--appraisal", "lots")) == (
        "Error: --appraisal: 'lots' is not a number"
    )


@pytest.mark.django_db
def test_a_lease_whose_index_table_lacks_the_year_names_it(clt):
    series = IndexSeries.objects.create(name="jackson-ms-ami", kind="ami", source="HUD")
    IndexValue.objects.create(series=series, year=2017, value=60000)
    factories.lease(
        reference="GL-2017-102", resale_formula={"type": "index", "series": "jackson-ms-ami"}
    )
    error = one_line_error(
        clt("resale-price", "--lease", "GL-2017-102", "--sale-date", "2024-08-01")
    )
    assert error.startswith("Error: indexes.jackson-ms-ami: has no value for 2024")


@pytest.mark.django_db
def test_a_lease_with_no_appraisal_since_its_purchase_says_to_give_one(clt):
    appraisal_share = {"type": "appraisal_share", "share": "0.25", "share_of": "increase"}
    factories.lease(reference="GL-2017-104", resale_formula=appraisal_share)
    error = one_line_error(
        clt("resale-price", "--lease", "GL-2017-104", "--sale-date", "2025-01-01")
    )
    assert error.startswith("Error: appraisal_at_resale: is needed by the appraisal-share formula")
    assert error.endswith("(no appraisal on record since the purchase: give --appraisal AMOUNT)")


@pytest.mark.django_db
def test_a_typo_d_extra_input_is_named(clt):
    factories.lease(reference="GL-2017-103")
    result = clt(
        "resale-price", "--lease", "GL-2017-103", "--sale-date", "2025-01-01",
        "--input", "principle_paid=1000",
    )  # fmt: skip
    assert "principle_paid: is not a key of the sale inputs; did you mean 'principal_paid'?" in (
        one_line_error(result)
    )


@pytest.mark.django_db
def test_a_sale_date_that_is_not_a_date_is_a_usage_error(clt):
    result = clt("resale-price", "--lease", "GL-1", "--sale-date", "2025-02-30")
    assert result.exit_code == 2
    assert "'--sale-date'" in result.stderr


# --- index tables --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_load_index_lists_the_bad_rows_and_loads_nothing(clt, tmp_path):
    path = tmp_path / "ami.csv"
    path.write_text("year,value\n2019,60000\n2020,n/a\n2019,61000\n")
    result = clt("load-index", str(path), "--series", "s", "--kind", "ami", "--source", "HUD")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "ami.csv: 2 bad rows, nothing loaded:" in result.stderr
    assert "row 3 value: 'n/a' is not a number" in result.stderr
    assert "row 4: year 2019 appears twice (first on row 2)" in result.stderr
    assert not IndexSeries.objects.exists()


@pytest.mark.django_db
def test_load_index_names_a_missing_column(clt, tmp_path):
    path = tmp_path / "ami.csv"
    path.write_text("year,amount\n2019,60000\n")
    result = clt("load-index", str(path), "--series", "s", "--kind", "ami", "--source", "HUD")
    assert one_line_error(result) == (
        "Error: ami.csv: missing column 'value' (the file has: year, amount)"
    )


def test_load_index_refuses_an_unknown_kind(clt, tmp_path):
    result = clt("load-index", "x.csv", "--series", "s", "--kind", "wages", "--source", "HUD")
    assert result.exit_code == 2
    assert "'--kind'" in result.stderr


# --- as a real process ---------------------------------------------------------------------------


def test_a_real_process_prints_one_line_and_exits_1(tmp_path):
    formula = tmp_path / "f.json"
    formula.write_text(json.dumps({**FORMULA, "shar": "0.2"}))
    inputs = tmp_path / "i.json"
    inputs.write_text(json.dumps(INPUTS))
    result = subprocess.run(
        [sys.executable, "-m", "clt.cli", "resale-price", "--formula", str(formula),
         "--inputs", str(inputs)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, env=os.environ.copy(),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"Error: --formula {formula}: shar: is not a key of appraisal_share; did you mean 'share'?"
    ]
