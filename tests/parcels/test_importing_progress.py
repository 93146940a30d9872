"""A long import says which step it is in: the write is a few big statements no bar can follow."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from parcels import importing
from tests.parcels.test_importing import cli, county_frame, write

pytestmark = pytest.mark.django_db

DONE = re.compile(r"^clt: (.*): done in \d+\.\d s$")


def steps(output: str) -> list[str]:
    """The steps announced, in order, each checked to be followed by its end and time."""
    lines = output.splitlines()
    started = [(at, line[5:-3]) for at, line in enumerate(lines)
               if line.startswith("clt: ") and line.endswith("...")]  # fmt: skip
    for at, step in started:
        ended = DONE.match(lines[at + 1])
        assert ended and ended[1] == step, lines[at : at + 2]
    return [step for _, step in started]


def import_cli(source, tmp_path, *options: str):
    return cli("import-parcels", str(source), "--rejects-dir", str(tmp_path / "rejects"),
               *options)  # fmt: skip


def test_a_first_load_announces_each_step_of_the_write_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "BULK_LOAD_MIN_ROWS", 1)  # a county's first load, in little
    with connection.cursor() as cursor:  # the tables' statistics say empty, as they are here,
        # whatever earlier tests left in them (a bulk load is for one that at least doubles them)
        cursor.execute("ANALYZE parcels_parcel, parcels_parcelevent")

    result = import_cli(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path)

    assert result.exit_code == 0, result.output
    # The count of indexes is the schema's (the parcels' and their history's secondary ones).
    said = [re.sub(r"^rebuilding \d+ ", "rebuilding N ", step) for step in steps(result.output)]
    assert said == [
        "comparing with the registry (0 rows unchanged by their hash)",
        "checking and transforming 6 new or changed outlines",
        "counting vacant, occupied and unknown parcels",
        "writing 6 new parcels",
        "recording the history of 6 new parcels",
        "rebuilding N indexes",
        "committing",
    ]


def test_a_reimport_announces_the_changes_and_retirements_it_writes(tmp_path):
    assert import_cli(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path, "--quiet")
    frame = county_frame()
    frame.loc[0, "owner"] = "JOHNSON WILLIE"
    next_file = write(frame.drop(index=1), tmp_path / "v2.gpkg")

    result = import_cli(next_file, tmp_path)

    assert result.exit_code == 0, result.output
    assert steps(result.output) == [
        "comparing with the registry (4 rows unchanged by their hash)",
        "checking and transforming 1 new or changed outline",
        "counting vacant, occupied and unknown parcels",
        "writing 1 changed parcel, with history",
        "retiring 1 parcel the file omits",
        "committing",
    ]


def test_quiet_announces_no_step_but_still_says_the_result(tmp_path):
    result = import_cli(write(county_frame(), tmp_path / "v1.gpkg"), tmp_path, "--quiet")

    assert result.exit_code == 0, result.output
    assert steps(result.output) == []
    assert "comparing with the registry" not in result.output
    assert "done in" not in result.output
    assert "clt: imported v1.gpkg: 6 read, 6 new" in result.output


def test_an_unchanged_reimport_skips_counting_vacancy(tmp_path):
    # Nothing sent, nothing retired: no parcel's vacancy can change, and a scan of every parcel
    # of the county would cost an unchanged re-import of a million most of its time budget.
    source = write(county_frame(), tmp_path / "v1.gpkg")
    assert import_cli(source, tmp_path, "--quiet").exit_code == 0

    result = import_cli(source, tmp_path)

    assert result.exit_code == 0, result.output
    assert steps(result.output) == [
        "comparing with the registry (6 rows unchanged by their hash)",
        "checking and transforming 0 new or changed outlines",
        "committing",
    ]
    assert "parcels after this import" not in result.output
