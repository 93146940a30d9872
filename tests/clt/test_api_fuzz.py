"""schemathesis over the registry API's OpenAPI document (/api/openapi.json), as staff with a
planner's token and as an anonymous caller: no operation answers with a server error, and
every answer has the status codes and media types the document declares."""

from __future__ import annotations

import pytest

from clt.roles import READ_ONLY
from maps import tokens
from tests import factories
from tests.fuzz import schemathesis
from tests.maps import factories_ogc as f

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def street():
    return f.street()


def test_the_document_describes_every_registry_operation(client):
    document = client.get("/api/openapi.json").json()
    assert set(document["paths"]) == {
        "/api/vacant-lots", "/api/vacant-lots/adjacent", "/api/assemblages",
        "/map/search.json", "/tiles/{layer}/{z}/{x}/{y}.pbf", "/export/{layer}.{format}",
    }  # fmt: skip
    assert document["paths"]["/api/vacant-lots"]["get"]["security"]


def test_schemathesis_as_staff_with_a_token_finds_no_server_error(live_server, street):
    key = tokens.issue(factories.user("planner", role=READ_ONLY, is_staff=True), "fuzz")[1]
    result = schemathesis(
        f"{live_server.url}/api/openapi.json",
        "--header", f"Authorization: Bearer {key}",
        "--phases", "examples,coverage,fuzzing", "--max-examples", "25",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]


def test_schemathesis_anonymous_finds_no_server_error(live_server, street):
    # The finder is staff-only: anonymous callers fuzz the public operations.
    result = schemathesis(
        f"{live_server.url}/api/openapi.json", "--phases", "fuzzing", "--max-examples", "15",
        "--include-path-regex", "^/(map|tiles|export)/",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]
