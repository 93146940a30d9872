"""`clt report --csv`: "-" is stdout, an existing file is kept unless --force, and a path that
cannot be written is refused in one line before the report is built.

"-" wrote a file named "-"; an existing file was silently replaced; and with a missing folder
the whole report was printed before the error."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal as D

import pytest
from click.testing import CliRunner

from clt.cli import main
from leases.models import Resale
from leases.report import report_csv, stewardship_report
from tests import factories

AS_OF = "2025-06-30"


@pytest.fixture
def database_calls(monkeypatch) -> list[str]:
    """The times a command set Django and the database up (none here: the test database is)."""
    calls: list[str] = []
    monkeypatch.setattr("leases.cli.setup_django", lambda **kwargs: calls.append("setup"))
    return calls


@pytest.fixture
def clt(database_calls, tmp_path, monkeypatch):
    """Run `clt ...` in this process, in an empty folder of its own."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def a_resale(db):
    lease = factories.lease(reference="GL-2017-050")
    Resale.objects.create(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(),
        contract_on=dt.date(2025, 3, 1), formula_price=D("290000"), agreed_price=D("285000"),
    )  # fmt: skip


def the_csv() -> str:
    return report_csv(stewardship_report(dt.date.fromisoformat(AS_OF)))


def test_csv_to_dash_writes_the_csv_alone_to_stdout(clt, a_resale, tmp_path):
    result = clt("report", "--as-of", AS_OF, "--csv", "-")

    assert result.exit_code == 0, result.output
    assert result.stdout == the_csv()  # no text report before it
    assert "GL-2017-050 2025-03-01" in result.stdout
    assert list(tmp_path.iterdir()) == []  # no file named "-"


def test_an_existing_csv_file_is_kept_and_the_message_suggests_force(clt, database_calls,
                                                                      tmp_path):  # fmt: skip
    kept = tmp_path / "report.csv"
    kept.write_text("last year's report\n")

    result = clt("report", "--as-of", AS_OF, "--csv", str(kept))

    assert result.exit_code == 1
    assert result.stderr == f"Error: --csv {kept}: the file exists; pass --force to replace it\n"
    assert (result.stdout, kept.read_text()) == ("", "last year's report\n")
    assert database_calls == []


def test_force_replaces_an_existing_csv_file(clt, a_resale, tmp_path):
    replaced = tmp_path / "report.csv"
    replaced.write_text("last year's report\n")

    result = clt("report", "--as-of", AS_OF, "--csv", str(replaced), "--force")

    assert result.exit_code == 0, result.output
    assert replaced.read_text() == the_csv()
    assert result.stdout.startswith(f"Stewardship report as of {AS_OF}")


def test_a_csv_path_in_a_missing_folder_is_one_line_before_any_work(clt, database_calls,
                                                                     tmp_path):  # fmt: skip
    path = tmp_path / "nonexistent" / "x.csv"

    result = clt("report", "--as-of", AS_OF, "--csv", str(path))

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: --csv {path}: there is no folder {path.parent}; create it or write elsewhere\n"
    )
    assert result.stdout == ""  # the report was printed, then the error
    assert database_calls == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder")
def test_a_csv_path_in_a_folder_this_user_cannot_write_is_refused_first(clt, database_calls,
                                                                         tmp_path):  # fmt: skip
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    path = folder / "x.csv"

    result = clt("report", "--as-of", AS_OF, "--csv", str(path))

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: --csv {path}: the folder {folder} is not writable by this user\n"
    )
    assert (result.stdout, database_calls) == ("", [])
