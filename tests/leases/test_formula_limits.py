"""Formulas and prices beyond what the engine can hold are errors naming why, never a 500 or a
traceback: a "type" that is not text, JSON nested too deep, a price too large to compute."""

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from click.testing import CliRunner

from clt.cli import main
from clt.roles import EDITOR
from leases.resale import FormulaError, SaleInputs, parse_formula
from leases.resale.jsonform import MAX_DEPTH
from leases.resale.money import to_cent
from tests import factories
from tests.adminpages import change_url

COMPOUND_100PCT = {"type": "fixed_rate", "method": "compound", "rate": "1"}


def nested(levels: int) -> dict:
    """A composed formula whose JSON nests `levels` objects deep."""
    formula: dict = {"type": "appraised_value"}
    for _ in range(levels - 1):
        formula = {"type": "composed", "base": formula}
    return formula


@pytest.mark.parametrize("kind", [["a"], {"a": 1}, 7, None])
def test_a_type_that_is_not_text_is_refused_listing_the_known_types(kind):
    with pytest.raises(FormulaError, match=r"^type: .* is not a known formula type; known"):
        parse_formula({"type": kind})


def test_a_step_type_that_is_not_text_is_refused_naming_the_step():
    formula = {"type": "composed", "base": {"type": "appraised_value"}, "steps": [{"type": []}]}
    with pytest.raises(FormulaError, match=r"^steps\[0\]\.type: \[\] is not a known step type"):
        parse_formula(formula)


def test_a_formula_nested_400_levels_deep_is_refused_not_a_recursion_error():
    with pytest.raises(FormulaError, match=f"^formula: is nested more than {MAX_DEPTH} levels"):
        parse_formula(nested(400))


def test_a_formula_nested_to_the_limit_still_parses():
    assert parse_formula(nested(MAX_DEPTH)).type == "composed"
    with pytest.raises(FormulaError, match="nested more than"):
        parse_formula(nested(MAX_DEPTH + 1))


def test_a_price_too_large_to_compute_is_a_formula_error():
    inputs = SaleInputs(
        purchase_price=D("250000"), purchase_date=dt.date(1800, 1, 1),
        sale_date=dt.date(2026, 10, 1),
    )  # fmt: skip
    with pytest.raises(FormulaError, match="^price: the price is too large to compute"):
        parse_formula(COMPOUND_100PCT).evaluate(inputs)


def test_rounding_an_amount_beyond_the_contexts_digits_is_a_formula_error():
    with pytest.raises(FormulaError, match="too large to compute"):
        to_cent(D(10) ** 60)


@pytest.fixture
def ancient_lease():
    return factories.lease(
        reference="GL-1800-001", purchase_date=dt.date(1800, 1, 1), resale_formula=COMPOUND_100PCT
    )


@pytest.mark.django_db
def test_the_lease_page_of_a_price_too_large_says_so(client, ancient_lease):
    client.force_login(factories.user("edna", role=EDITOR))

    response = client.get(change_url(ancient_lease))

    assert response.status_code == 200
    assert "price: the price is too large to compute" in response.content.decode()


@pytest.mark.django_db
def test_the_cli_says_the_price_is_too_large_in_one_line(monkeypatch, ancient_lease):
    monkeypatch.setattr("leases.cli.setup_django", lambda **kwargs: None)
    args = ["resale-price", "--lease", "GL-1800-001", "--sale-date", "2026-10-01"]

    result = CliRunner().invoke(main, args)

    assert result.exit_code == 1
    [message] = result.stderr.splitlines()
    assert message.startswith("Error: price: the price is too large to compute")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "formula", [{"type": ["a"]}, {"type": {"a": 1}}, nested(400)], ids=["list", "object", "deep"]
)
def test_a_bad_formula_posted_in_the_admin_is_refused_on_its_field(client, formula):
    client.force_login(factories.user("edna", role=EDITOR))
    lease = factories.lease()
    data = factories.admin_form_data(client.get(change_url(lease)))
    data["resale_formula"] = json.dumps(formula)

    response = client.post(change_url(lease), data)

    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["resale_formula"]
    assert error.startswith("resale formula: ")
