"""HEAD is answered wherever GET is (RFC 9110 9.1: every general-purpose server supports both):
a link checker or uptime monitor asking HEAD of the report or the finder got 405."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["staff-report", "staff-report-csv", "finder"]


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_a_staff_page_answers_head_as_it_answers_get(reader, name):
    got = reader.get(reverse(name))
    head = reader.head(reverse(name))

    assert got.status_code == head.status_code == 200
    assert head["Content-Type"] == got["Content-Type"]
    assert head.content == b""


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_head_without_a_login_is_sent_to_log_in_as_get_is(client, name):
    head = client.head(reverse(name))

    assert head.status_code == client.get(reverse(name)).status_code == 302
