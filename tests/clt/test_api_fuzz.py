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
        "/api/vacant-lots.csv", "/api/vacant-lots/adjacent.csv", "/api/assemblages.csv",
        "/map/search.json", "/map/staff/search.json", "/tiles/{layer}/{z}/{x}/{y}.pbf",
        "/export/{layer}.{format}", "/export/{layer}.csv-metadata.json",
    }  # fmt: skip
    assert document["paths"]["/api/vacant-lots"]["get"]["security"]
    export = document["paths"]["/export/{layer}.{format}"]["get"]["parameters"]
    assert {"bbox", "bbox-crs", "crs", "datetime", "fields"} <= {p["name"] for p in export}


def test_each_finder_operation_documents_exactly_the_parameters_it_takes(client):
    from parcels import finder

    paths = client.get("/api/openapi.json").json()["paths"]
    taken = {"/api/vacant-lots": finder.LOT_PARAMS,
             "/api/vacant-lots/adjacent": finder.ADJACENT_PARAMS,
             "/api/assemblages": finder.ASSEMBLAGE_PARAMS}  # fmt: skip
    for path, names in taken.items():
        documented = [p["name"] for p in paths[path]["get"]["parameters"]]
        assert sorted(documented) == sorted(names), path


@pytest.mark.parametrize(
    ("bbox", "served"),
    [("-90.3,32.2,-90.1,32.4", True), ("-9.03e1,32.2,-90.1,32.4", True),
     ("-90.3,32.2,0,-90.1,32.4,10", True), (".,.,.,.", False), ("1,2,3", False),
     ("-90.3,32.2,0,-90.1,32.4", False), ("-90.3,32.2,0,-90.1,32.4,10,1", False)],
)
def test_the_documented_bbox_is_the_bbox_the_downloads_take(client, bbox, served):
    import re

    document = client.get("/api/openapi.json").json()
    export = document["paths"]["/export/{layer}.{format}"]["get"]["parameters"]
    (param,) = [p for p in export if p["name"] == "bbox"]
    documented = re.fullmatch(param["schema"]["pattern"], bbox) is not None
    answered = client.get("/export/trust-land.geojson", {"bbox": bbox}).status_code
    assert documented == served and (answered == 200) == served, (documented, answered)


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
