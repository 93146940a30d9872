"""Routes of the OGC API, included under `ogcapi/` (clt/urls.py also serves `ogcapi`)."""

from django.urls import path

from maps.ogcapi.collections import collection, collections
from maps.ogcapi.conformance import conformance
from maps.ogcapi.items import item, items
from maps.ogcapi.landing import landing
from maps.ogcapi.openapi import openapi

app_name = "ogcapi"

urlpatterns = [
    path("", landing, name="landing"),
    path("conformance", conformance, name="conformance"),
    path("api", openapi, name="openapi"),
    path("collections", collections, name="collections"),
    path("collections/<str:collection_id>", collection, name="collection"),
    path("collections/<str:collection_id>/items", items, name="items"),
    path("collections/<str:collection_id>/items/<str:feature_id>", item, name="item"),
]
