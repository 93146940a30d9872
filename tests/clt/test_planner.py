"""clt.planner: a statement run under its own planner settings, which end with it."""

from __future__ import annotations

import pytest
from django.db import connection

from clt import planner

SHOW = "SELECT current_setting('max_parallel_workers_per_gather'), current_setting('jit'), %s"


def current(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT current_setting('{name}')")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)  # outside a test transaction, as a request runs
@pytest.mark.parametrize("server_side_binding", [False, True])
def test_the_settings_hold_for_the_statement_and_end_with_it(monkeypatch, server_side_binding):
    options = {**connection.settings_dict.get("OPTIONS", {})}
    options["server_side_binding"] = server_side_binding
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    before = (current("max_parallel_workers_per_gather"), current("jit"))
    assert before != ("0", "off")
    rows = planner.fetch_all_with(["max_parallel_workers_per_gather = 0", "jit = off"], SHOW, [7])
    assert rows == [("0", "off", 7)]
    assert (current("max_parallel_workers_per_gather"), current("jit")) == before
