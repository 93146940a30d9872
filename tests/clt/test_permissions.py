"""The permissions matrix: every route in the URLconf × anonymous, read-only staff, editor, admin.

`example_urls()` turns every pattern the resolver knows into real URLs (the admin's per-model
routes for every registered model). A test fails if the URLconf has a route this file does not
exercise, so a new route cannot escape the matrix. `EXPECTED` is the reviewed answer for each
URL and role; no anonymous answer, on any route, may carry a private value.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from clt.roles import EDITOR, READ_ONLY
from leases.models import GroundLease, Party
from maps import tokens
from parcels.models import Parcel
from tests import factories
from tests.maps.factories_map import tile_of

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "reader", "editor", "admin")

# Planted in the registry: none may reach anyone who is not staff.
PRIVATE = {
    "name": "Zephyrine Okonkwo-Baptiste",
    "email": "zephyrine@example.org",
    "phone": "601-555-0143",
    "income": "41327",
    "fee": "187.43",
    "arrears": "562.29",
    "notes": "PRIVATE-NOTE",
}


# Status per role (anonymous reader editor admin), reviewed. 302 for a page is the login
# redirect; 401 is an API asking for credentials; a staff layer is 401 on the OGC API,
# downloads and tiles alike (the OGC API lists it); the admin's app index is 404 for an app
# the role has no model in.
EXPECTED = {
    "/": "200 200 200 200",
    "/healthz": "200 200 200 200",
    "/favicon.ico": "200 200 200 200",
    "/api/openapi.json": "200 200 200 200",
    "/finder/": "302 200 200 200",
    "/api/vacant-lots": "401 200 200 200",
    "/api/vacant-lots/adjacent": "401 200 200 200",
    "/api/assemblages": "401 200 200 200",
    "/api/vacant-lots.csv": "401 200 200 200",
    "/api/vacant-lots/adjacent.csv": "401 200 200 200",
    "/api/assemblages.csv": "401 200 200 200",
    "/map/": "200 200 200 200",
    "/map/?apn={apn}": "200 200 200 200",
    "/map/staff/": "302 200 200 200",
    "/map/list/": "200 200 200 200",
    "/map/search.json?q=Capitol": "200 200 200 200",
    "/map/search.json?q={apn}": "200 200 200 200",
    "/map/areas.json?apn={apn}": "200 200 200 200",
    "/map/staff/search.json?q={apn}": "404 200 200 200",
    "/map/search/?q={apn}": "200 200 200 200",
    "/map/staff/search/?q={apn}": "302 200 200 200",
    "/map/layers/neighbourhoods.geojson": "200 200 200 200",
    "/map/layers/leases.geojson": "404 404 404 404",
    "/tiles/trust-land/{tile}.pbf": "200 200 200 200",
    "/tiles/leases/{tile}.pbf": "401 200 200 200",
    "/tiles/parcels/{tile}.pbf": "200 200 200 200",
    "/ogcapi": "200 200 200 200",
    "/ogcapi/?f=json": "200 200 200 200",
    "/ogcapi/?f=html": "200 200 200 200",
    "/ogcapi/conformance": "200 200 200 200",
    "/ogcapi/api?f=json": "200 200 200 200",
    "/ogcapi/collections?f=json": "200 200 200 200",
    "/ogcapi/collections/trust-land": "200 200 200 200",
    "/ogcapi/collections/leases": "401 200 200 200",
    "/ogcapi/collections/trust-land/items": "200 200 200 200",
    "/ogcapi/collections/available/items": "200 200 200 200",
    "/ogcapi/collections/parcels/items": "200 200 200 200",
    "/ogcapi/collections/leases/items": "401 200 200 200",
    "/ogcapi/collections/trust-land/items/{parcel}": "200 200 200 200",
    "/ogcapi/collections/leases/items/{lease}": "401 200 200 200",
    "/export/trust-land.geojson": "200 200 200 200",
    "/export/trust-land.csv": "200 200 200 200",
    "/export/leases.geojson": "401 200 200 200",
    "/export/leases.gpkg": "401 200 200 200",
    "/export/leases.shp.zip": "401 200 200 200",
    "/export/trust-land.csv-metadata.json": "200 200 200 200",
    "/export/leases.csv-metadata.json": "401 200 200 200",
    "/staff/report/": "302 200 200 200",
    "/staff/report.csv": "302 200 200 200",
    "/admin/": "302 200 200 200",
    "/admin/login/": "200 302 302 302",
    "/admin/logout/": "302 405 405 405",
    "/admin/password_change/": "302 200 200 200",
    "/admin/password_change/done/": "302 200 200 200",
    "/admin/autocomplete/": "302 403 403 403",
    "/admin/jsi18n/": "302 200 200 200",
    "/admin/r/{ct}/{parcel}/": "302 404 404 404",
    "/admin/no-such-page/": "302 404 404 404",
    "/admin/auth/": "302 404 404 200",
    "/admin/parcels/": "302 200 200 200",
    "/admin/leases/": "302 200 200 200",
    "/admin/maps/": "302 404 404 200",
    "/admin/axes/": "302 404 404 200",
    "/admin/pghistory/": "302 200 200 200",
}

# The admin, per model: what each staff role may do there. Anonymous visitors are always sent
# to the login page. Readers view the registry and its history; editors also add and change,
# and delete only a row that corrects a typing mistake; admins do what the admin offers at all
# (an import run is made by `clt import-parcels`, history is never written by hand).
REGISTRY = {"view"}
ADMIN_MODELS = {
    # model: (reader, editor, admin)
    "auth.group": (set(), set(), {"view", "add", "delete"}),
    "auth.user": (set(), set(), {"view", "add", "delete", "password"}),
    "maps.accesstoken": (set(), set(), {"view", "add", "delete"}),
    # failed logins (clt/lockout.py): a superuser sees a lockout and lifts it by deleting it
    "axes.accessattempt": (set(), set(), {"view", "delete"}),
    "parcels.importrun": (REGISTRY, REGISTRY, REGISTRY),
    "pghistory.events": (REGISTRY, REGISTRY, REGISTRY),
    "leases.sourcedocument": (REGISTRY, {"view", "add", "delete"}, {"view", "add", "delete"}),
}
REGISTRY_EDIT = (REGISTRY, {"view", "add"}, {"view", "add", "delete"})


def expected_admin(key: str) -> str:
    """The expected statuses of a per-model admin URL, by the table above."""
    app, model, rest = re.match(r"/admin/(\w+)/(\w+)/(.*)$", key).groups()
    label = f"{app}.{model}"
    view = {"": "view", "add/": "add"}.get(rest) or rest.rstrip("/").rsplit("/", 1)[-1]
    view = {"change": "view", "history": "view"}.get(view, view)
    statuses = ["302"]
    for allowed in ADMIN_MODELS.get(label, REGISTRY_EDIT):
        if rest.endswith("}/"):  # /admin/app/model/<pk>/: the old URL, redirected to change/
            statuses.append("302")
        elif label == "pghistory.events" and view == "view" and rest:
            statuses.append("302")  # events have no change page: back to the list
        else:
            statuses.append("200" if view in allowed else "403")
    return " ".join(statuses)


def url_patterns() -> set[str]:
    """Every route in the URLconf, as one string (includes' prefixes joined)."""

    def walk(patterns, prefix: str = ""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                assert isinstance(pattern, URLPattern)
                yield prefix + str(pattern.pattern)

    return set(walk(get_resolver().url_patterns))


def plant_private_values() -> dict:
    """One of every registry record, with the private values above in its private fields."""
    made = factories.registry()
    household: Party = made["party"]
    Party.objects.filter(pk=household.pk).update(
        name=PRIVATE["name"], email=PRIVATE["email"], phone=PRIVATE["phone"],
        annual_income=Decimal(PRIVATE["income"]), notes=PRIVATE["notes"],
    )  # fmt: skip
    GroundLease.objects.filter(pk=made["groundlease"].pk).update(
        fee_monthly=Decimal(PRIVATE["fee"]), arrears=Decimal(PRIVATE["arrears"]),
        notes=PRIVATE["notes"],
    )  # fmt: skip
    made["holding"].available = True
    made["holding"].save()
    return made


def example_urls(made: dict) -> dict[str, dict[str, str]]:
    """Real URLs for every route pattern (keys are the patterns `url_patterns` yields), each
    under a name that stays the same from run to run (ids and tile numbers as placeholders)."""
    parcel: Parcel = made["parcel"]
    parcel_type = ContentType.objects.get_for_model(Parcel).pk
    # The lease layer's features are leases, known by the lease's id (maps/layers.py).
    ids = {"parcel": parcel.pk, "lease": made["groundlease"].pk, "apn": parcel.apn,
           "ct": parcel_type}
    templates: dict[str, list[str]] = {
        "": ["/"],
        "healthz": ["/healthz"],
        "favicon.ico": ["/favicon.ico"],
        "api/openapi.json": ["/api/openapi.json"],
        "finder/": ["/finder/"],
        "api/vacant-lots": ["/api/vacant-lots"],
        "api/vacant-lots/adjacent": ["/api/vacant-lots/adjacent"],
        "api/assemblages": ["/api/assemblages"],
        "api/vacant-lots.csv": ["/api/vacant-lots.csv"],
        "api/vacant-lots/adjacent.csv": ["/api/vacant-lots/adjacent.csv"],
        "api/assemblages.csv": ["/api/assemblages.csv"],
        "map/": ["/map/", "/map/?apn={apn}"],
        "map/staff/": ["/map/staff/"],
        "map/list/": ["/map/list/"],
        "map/search.json": ["/map/search.json?q=Capitol", "/map/search.json?q={apn}"],
        "map/areas.json": ["/map/areas.json?apn={apn}"],
        "map/staff/search.json": ["/map/staff/search.json?q={apn}"],
        "map/search/": ["/map/search/?q={apn}"],
        "map/staff/search/": ["/map/staff/search/?q={apn}"],
        "map/layers/<slug:layer>.geojson": ["/map/layers/neighbourhoods.geojson",
                                            "/map/layers/leases.geojson"],
        r"^tiles/(?P<layer>[a-z0-9-]+)/(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/.]+)\.pbf$": [
            "/tiles/trust-land/{tile}.pbf", "/tiles/leases/{tile}.pbf", "/tiles/parcels/{tile}.pbf",
        ],
        "ogcapi": ["/ogcapi"],
        "ogcapi/": ["/ogcapi/?f=json", "/ogcapi/?f=html"],
        "ogcapi/conformance": ["/ogcapi/conformance"],
        "ogcapi/api": ["/ogcapi/api?f=json"],
        "ogcapi/collections": ["/ogcapi/collections?f=json"],
        "ogcapi/collections/<str:collection_id>": ["/ogcapi/collections/trust-land",
                                                   "/ogcapi/collections/leases"],
        "ogcapi/collections/<str:collection_id>/items": [
            "/ogcapi/collections/trust-land/items", "/ogcapi/collections/available/items",
            "/ogcapi/collections/parcels/items", "/ogcapi/collections/leases/items",
        ],
        "ogcapi/collections/<str:collection_id>/items/<str:feature_id>": [
            "/ogcapi/collections/trust-land/items/{parcel}",
            "/ogcapi/collections/leases/items/{lease}",
        ],
        r"export/^(?P<layer_name>[-\w]+)\.(?P<suffix>geojson|gpkg|csv|shp\.zip)$": [
            "/export/trust-land.geojson", "/export/trust-land.csv", "/export/leases.geojson",
            "/export/leases.gpkg", "/export/leases.shp.zip",
        ],
        r"export/^(?P<layer_name>[-\w]+)\.csv-metadata\.json$": [
            "/export/trust-land.csv-metadata.json", "/export/leases.csv-metadata.json",
        ],
        "staff/report/": ["/staff/report/"],
        "staff/report.csv": ["/staff/report.csv"],
        "admin/": ["/admin/"],
        "admin/login/": ["/admin/login/"],
        "admin/logout/": ["/admin/logout/"],
        "admin/password_change/": ["/admin/password_change/"],
        "admin/password_change/done/": ["/admin/password_change/done/"],
        "admin/autocomplete/": ["/admin/autocomplete/"],
        "admin/jsi18n/": ["/admin/jsi18n/"],
        "admin/r/<path:content_type_id>/<path:object_id>/": [
            "/admin/r/{ct}/{parcel}/"
        ],
        "admin/(?P<url>.*)$": ["/admin/no-such-page/"],
    }  # fmt: skip
    ids["tile"] = "{}/{}/{}".format(*tile_of(parcel))
    apps = list(dict.fromkeys(model._meta.app_label for model in admin.site._registry))
    templates[f"admin/^(?P<app_label>{'|'.join(apps)})/$"] = [f"/admin/{app}/" for app in apps]
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        pattern = base[1:]
        obj = model._default_manager.order_by("pk").first()
        slot = model._meta.label_lower.replace(".", "_")
        ids[slot] = obj.pk if obj is not None else 0
        pk = "{" + slot + "}"
        templates[pattern] = [base]
        templates[pattern + "add/"] = [base + "add/"]
        for view in ("history", "delete", "change"):
            templates[f"{pattern}<path:object_id>/{view}/"] = [f"{base}{pk}/{view}/"]
        templates[f"{pattern}<path:object_id>/"] = [f"{base}{pk}/"]
    templates["admin/auth/user/<id>/password/"] = ["/admin/auth/user/{auth_user}/password/"]
    return {
        pattern: {template: template.format(**ids) for template in examples}
        for pattern, examples in templates.items()
    }


def clients(made: dict) -> dict[str, Client]:
    users = {
        "reader": factories.user("reader", role=READ_ONLY, is_staff=True),
        "editor": factories.user("editor", role=EDITOR, is_staff=True),
        "admin": factories.user("admin", is_staff=True, is_superuser=True),
    }
    made["accesstoken"] = tokens.issue(users["reader"], "QGIS")[0]
    Client().post("/admin/login/", {"username": "reader", "password": "wrong"})  # an attempt
    logged_in = {"anonymous": Client()}
    for role, user in users.items():
        logged_in[role] = Client()
        logged_in[role].force_login(user)
    return logged_in


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def observe() -> tuple[dict, dict]:
    made = plant_private_values()
    logged_in = clients(made)
    urls = example_urls(made)
    seen, leaks = {}, {}
    for examples in urls.values():
        for key, url in examples.items():
            seen[key] = {}
            for role, client in logged_in.items():
                response = client.get(url)
                seen[key][role] = response.status_code
                if role == "anonymous":
                    body = body_of(response) + str(response.headers)
                    found = [name for name, value in PRIVATE.items() if value in body]
                    if found:
                        leaks[url] = found
    return urls, {"seen": seen, "leaks": leaks}


def test_every_route_in_the_urlconf_is_in_the_matrix():
    made = factories.registry()
    exercised = set(example_urls(made))
    assert url_patterns() - exercised == set(), "a route the matrix does not exercise"
    assert exercised - url_patterns() == set(), "the matrix names a route that is gone"


def test_every_url_answers_each_role_as_the_matrix_says_and_never_leaks_to_the_public():
    urls, result = observe()
    wrong = {}
    for key, statuses in result["seen"].items():
        got = " ".join(str(statuses[role]) for role in ROLES)
        want = EXPECTED[key] if key in EXPECTED else expected_admin(key)
        if got != want:
            wrong[key] = f"got {got}, want {want}"
    assert wrong == {}
    assert result["leaks"] == {}
    assert len(result["seen"]) > 140


@pytest.mark.parametrize("how", ["never given a role", "role taken away"])
def test_staff_without_a_role_are_refused_every_staff_page_and_layer_and_see_nothing_private(
    client, how
):
    """A staff account with no role group (or whose role was removed, "Staff status" left
    ticked) gets what the public gets: a public page as anyone does, a 404 where everyone but
    staff who may see it does, and a 403 for everything else (the finder, the staff map, the
    lease layer's tiles, OGC collection and downloads, the report)."""
    made = plant_private_values()
    bare = factories.user("bare", role=None if how == "never given a role" else READ_ONLY,
                          is_staff=True)  # fmt: skip
    bare.groups.clear()
    client.force_login(bare)
    wrong, leaks = {}, {}
    for examples in example_urls(made).values():
        for key, url in examples.items():
            if key.startswith("/admin/"):
                continue
            anonymous = EXPECTED[key].split()[0]
            want = anonymous if anonymous in ("200", "404") else "403"
            response = client.get(url)
            if str(response.status_code) != want:
                wrong[key] = f"got {response.status_code}, want {want}"
            found = [name for name, value in PRIVATE.items() if value in body_of(response)]
            if found:
                leaks[url] = found
    assert wrong == {}
    assert leaks == {}


def test_the_leak_check_can_see_a_leak(client):
    """The planted values are where the check looks: a staff page shows them."""
    made = plant_private_values()
    client.force_login(factories.user("boss", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/leases/party/{made['party'].pk}/change/").content.decode()
    assert PRIVATE["name"] in page and PRIVATE["email"] in page and PRIVATE["income"] in page


def test_csrf_is_enforced_on_the_admin_and_on_logout():
    editor = factories.user("editor", role=EDITOR, is_staff=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor)
    response = browser.post("/admin/parcels/overlay/add/", {"kind": "neighbourhood", "name": "x"})
    assert response.status_code == 403
    assert browser.post("/admin/logout/").status_code == 403
    assert browser.get("/admin/").status_code == 200  # still logged in


def test_the_session_and_csrf_cookies_are_not_readable_by_scripts(client):
    factories.user("editor", role=EDITOR, is_staff=True)
    client.get("/admin/login/")
    assert client.cookies["csrftoken"]["httponly"]
    assert client.cookies["csrftoken"]["samesite"] == "Lax"
    response = client.post("/admin/login/", {"username": "editor", "password": "pw"})
    assert response.status_code == 302
    assert client.cookies["sessionid"]["httponly"]
    assert client.get("/admin/login/").status_code == 302
