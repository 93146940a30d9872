"""The finder's staff page and API."""

from django.urls import path

from parcels import views

urlpatterns = [
    path("finder/", views.finder_page, name="finder"),
    path("api/vacant-lots", views.vacant_lots, name="api-vacant-lots"),
    path("api/vacant-lots/adjacent", views.adjacent_lots, name="api-adjacent-lots"),
    path("api/assemblages", views.assemblages, name="api-assemblages"),
    path("api/vacant-lots.csv", views.vacant_lots_csv, name="api-vacant-lots-csv"),
    path("api/vacant-lots/adjacent.csv", views.adjacent_lots_csv, name="api-adjacent-lots-csv"),
    path("api/assemblages.csv", views.assemblages_csv, name="api-assemblages-csv"),
]
