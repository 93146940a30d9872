"""Dates typed on the `clt` command line: a day the calendar does not have is named as such."""

from __future__ import annotations

import datetime as dt

import click
import pytest
from click.testing import CliRunner

from clt.cli import main
from clt.clitools import IsoDate, missing_day


@pytest.mark.parametrize(
    "arguments",
    [
        ["resale-price", "--lease", "GL-1", "--sale-date", "2023-02-30"],
        ["holdings", "--as-of", "2023-02-30"],
        ["report", "--as-of", "2023-02-30"],
        ["token", "create", "planner", "--name", "x", "--expires", "2023-02-30"],
    ],
)
def test_every_date_option_says_the_day_does_not_exist_not_that_the_format_is_wrong(arguments):
    # Options are converted before a command runs: no database is reached.
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2
    assert "2023-02-30 is not a date: February 2023 has 28 days" in result.output
    assert "does not match the format" not in result.output


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2023-02-29", "February 2023 has 28 days"),
        ("2023-04-31", "April 2023 has 30 days"),
        ("2023-13-01", "there is no month 13; months run from 01 to 12"),
        ("2023-01-00", "days are numbered from 01"),
        ("0000-01-01", "the years run from 1 to 9999"),
    ],
)
def test_a_missing_day_is_told_why(text, reason):
    assert missing_day(text) == reason


@pytest.mark.parametrize("text", ["2024-02-29", "2023-12-31", "31/12/2023", "today"])
def test_real_days_and_other_writing_are_left_to_the_format_check(text):
    assert missing_day(text) is None


def test_a_real_day_converts_to_midnight_as_click_datetime_does():
    assert IsoDate().convert("2024-02-29", None, None) == dt.datetime(2024, 2, 29)


def test_a_wrongly_written_date_still_says_the_format():
    with pytest.raises(click.BadParameter, match="does not match the format"):
        IsoDate().convert("31/12/2023", None, None)


@pytest.mark.parametrize("arguments", [["holdings", "--as-of", "9999-12-31"],
                                       ["report", "--as-of", "1799-12-31"]])  # fmt: skip
def test_a_date_outside_the_registrys_range_is_refused_as_the_web_refuses_it(arguments):
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2
    assert "is outside the dates the registry keeps (1800-01-01 to 2199-12-31)" in result.output
