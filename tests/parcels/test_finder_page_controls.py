"""The finder page's controls for a county of a million parcels, as the server writes them:
areas in acres, a point picked on the map, a page number as deep as the API answers. (What
they do in a browser: tests/parcels/test_finder_page.py.)"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


class Controls(HTMLParser):
    """Each element's attributes, by its id or else its name; a select's option values."""

    def __init__(self):
        super().__init__()
        self.found: dict[str, dict[str, str | None]] = {}
        self.options: dict[str, list[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        key = attributes.get("id") or attributes.get("name")
        if key:
            self.found[key] = attributes
        if tag == "select":
            self._select = key
            self.options[key] = []
        elif tag == "option" and self._select:
            self.options[self._select].append(attributes.get("value"))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("fannie", password="x"))
    return client


def controls(client: Client) -> Controls:
    parser = Controls()
    parser.feed(client.get("/finder/").content.decode())
    return parser


def test_the_page_number_box_goes_as_deep_as_the_api_answers(staff):
    """Page 1,990 of a county-wide list was 1,989 clicks on Next away."""
    box = controls(staff).found["page"]
    assert (box["type"], box["min"], box["step"]) == ("number", "1", "1")
    deepest = int(box["max"])
    assert staff.get("/api/vacant-lots", {"page": deepest}).status_code == 200
    assert staff.get("/api/vacant-lots", {"page": deepest + 1}).status_code == 400


def test_areas_may_be_given_in_acres_as_the_api_takes_them(staff):
    page = controls(staff)
    assert page.options["area_unit"] == ["m2", "acres"]  # m² first: the boxes' unit until now
    assert staff.get("/api/vacant-lots", {"min_acres": "0.2", "max_acres": "3"}).status_code == 200


def test_a_point_to_search_near_is_picked_on_the_map_beside_the_address(staff):
    page = controls(staff)
    assert page.found["pick-point"]["aria-pressed"] == "false"  # a toggle, said as one
    assert "hidden" in page.found["clear-point"]  # until a point is picked
    assert page.found["near"]["type"] == "hidden"  # sent as the API's near=lon,lat
    assert page.found["address"]["name"] == "address"  # the keyboard's way stays
