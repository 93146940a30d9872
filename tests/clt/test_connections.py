"""The health-check bypass for connections that finished a request a moment ago
(clt/connections.py). A database restart under load is tested end to end in test_faults.py."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from clt import connections


@pytest.fixture
def opened(db):
    connection.ensure_connection()
    yield connection
    connection.health_check_done = True


def test_a_connection_that_just_finished_a_request_is_not_checked_again(opened):
    connections._note_finished()
    opened.health_check_done = False  # what Django's close_old_connections does at a request
    connections._skip_check_if_recent()
    assert opened.health_check_done


def test_a_connection_idle_for_longer_is_checked(opened):
    opened.clt_finished_at = time.monotonic() - 2 * connections.RECENT_SECONDS
    opened.health_check_done = False
    connections._skip_check_if_recent()
    assert not opened.health_check_done
