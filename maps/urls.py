"""The map's URLs: the public and staff maps, their search and GeoJSON, and vector tiles."""

from django.urls import path, re_path

from maps import land_list, views

urlpatterns = [
    path("map/", views.public_map, name="map"),
    path("map/staff/", views.staff_map, name="staff-map"),
    path("map/list/", land_list.land_list, name="map-list"),  # the land as text, without the map
    path("map/search.json", views.search, name="map-search"),
    path("map/areas.json", views.parcel_areas, name="map-areas"),
    path("map/staff/search.json", views.staff_search, name="staff-map-search"),
    # The same searches as pages of links, for the map's form when its scripts did not load.
    path("map/search/", views.search_page, name="map-search-page"),
    path("map/staff/search/", views.staff_search_page, name="staff-map-search-page"),
    path("map/layers/<slug:layer>.geojson", views.layer_geojson, name="map-layer-geojson"),
    # Any text in z/x/y reaches the view, so a bad address is a 400 that says why, not a 404.
    re_path(
        r"^tiles/(?P<layer>[a-z0-9-]+)/(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/.]+)\.pbf$",
        views.tile,
        name="tile",
    ),
]
