"""`clt load-demo`: the fictional neighbourhood goes into a development database once, and never
into a registry run with the production settings.

In-process (click's CliRunner) on the test database, as docker-compose.yml runs it on every start.
"""

import pytest
from click.testing import CliRunner

from clt.cli import main
from parcels.demo import load_demo_neighbourhood
from parcels.models import Parcel
from tests.dbstate import changed_tables, database_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def clt(monkeypatch):
    """Run `clt ...` in this process, on the test database pytest-django set up."""
    monkeypatch.setattr("clt.cli.setup_django", lambda **kwargs: None)
    return lambda *args: CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("args", [["load-demo"], ["load-demo", "--force"]])
def test_load_demo_refuses_under_the_production_settings_saying_why(clt, settings, args):
    settings.CLT_PRODUCTION = True  # as clt.production sets it (tests/clt/test_deploy.py)
    result = clt(*args)
    assert result.exit_code == 1
    assert "the demo is for a development database" in result.output
    assert "set CLT_DEMO=0" in result.output  # what to change in docker-compose.yml
    assert Parcel.objects.count() == 0


def test_load_demo_on_a_registry_that_has_the_demo_changes_nothing(clt):
    # docker-compose.yml runs it on every start, the second one included.
    load_demo_neighbourhood()
    before = database_state()
    result = clt("load-demo")
    assert result.exit_code == 0, result.output
    assert "the registry already has 385 parcels, so the demo was not loaded" in result.output
    assert changed_tables(before, database_state()) == {}
