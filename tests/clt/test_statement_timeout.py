"""A web request's SQL statements stop after CLT_STATEMENT_TIMEOUT_S (clt/statement_timeout.py),
and the request is answered 503 "took too long"; `clt` commands have no limit.

A finder question could hold the database for minutes, and went on after its client had gone
(the security tester's `near_holdings_m=5000`). A query made slow on purpose here waits on a
table another connection has locked, as behind a migration: no test-only route is needed.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from django.db import connection, connections

from clt import statement_timeout
from clt.cli import main

pytestmark = pytest.mark.django_db


def limit_of(wrapper=connection) -> str:
    with wrapper.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def test_a_web_requests_statements_stop_after_the_default_25_seconds(reader):
    assert limit_of() == "0"  # the server's default, as the test begins
    response = reader.get("/api/vacant-lots", {"limit": "1"})
    assert response.status_code == 200
    assert limit_of() == "25s"  # the connection the request used


def test_the_limit_is_clt_statement_timeout_s(reader, settings):
    settings.CLT_STATEMENT_TIMEOUT_S = 1.5
    assert reader.get("/api/vacant-lots", {"limit": "1"}).status_code == 200
    assert limit_of() == "1500ms"


def test_the_limit_is_set_before_a_requests_first_statement_and_only_in_a_request(
    django_assert_num_queries,
):
    statement_timeout._request_started()  # what Django's request_started signal calls
    try:
        with django_assert_num_queries(2):  # the limit, then the statement
            assert limit_of() == "25s"
        with django_assert_num_queries(1):  # once a request, even inside a transaction
            limit_of()
    finally:
        statement_timeout._request_finished()
    other = connections.create_connection("default")
    try:
        other.ensure_connection()  # as a `clt` command opens its connection
        assert limit_of(other) == "0"
    finally:
        other.close()


def test_a_request_that_asks_the_database_nothing_sets_no_limit(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/tiles/parcels/0/0/0.pbf").status_code == 204  # below its zooms


def test_a_clt_command_runs_without_a_limit():
    """import-parcels, migrate and restore take minutes on a county: never stopped for time."""
    result = CliRunner().invoke(main, ["vacant-lots", "--near-holdings-m", "10"])
    assert result.exit_code == 0, result.output
    assert limit_of() == "0"


@pytest.fixture
def parcels_locked():
    """The parcels table locked by another connection (as a migration would), so the request's
    query waits on it until a time limit stops it. The test's own connection gives up at 3 s
    (lock_timeout), so with no statement limit the test fails rather than hangs."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '3s'")  # undone with the test's transaction
    other = connections.create_connection("default")
    other.set_autocommit(False)
    try:
        with other.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            cursor.execute("LOCK TABLE parcels_parcel IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        other.rollback()
        other.close()


def test_a_query_stopped_for_time_is_a_503_saying_to_narrow_the_filter(
    reader, settings, parcels_locked
):
    settings.CLT_STATEMENT_TIMEOUT_S = 0.2
    response = reader.get("/api/vacant-lots", {"near_holdings_m": "1000"})
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Cache-Control"] == "no-store"
    assert "Retry-After" not in response  # the same question would be stopped again
    problem = response.json()
    assert problem["title"] == "Query took too long"
    assert problem["detail"] == (
        "The query took too long, and the database stopped it (a request's queries have "
        "0.2 s). Narrow the filter (a smaller area or distance, fewer lots a page) and ask again."
    )


def test_a_page_whose_query_was_stopped_for_time_says_so_in_html(
    reader, settings, parcels_locked
):
    settings.CLT_STATEMENT_TIMEOUT_S = 0.2
    response = reader.get("/finder/")  # it finds the trust land to open the map on
    assert response.status_code == 503
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>Query took too long</title>" in response.content.decode()
