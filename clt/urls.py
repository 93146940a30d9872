"""URL configuration: the public site, the staff admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from clt import openapi, views
from maps.ogcapi.landing import landing as ogcapi_landing

# A database outage anywhere is a 503 with Retry-After, never a traceback.
handler500 = "clt.security.server_error"
# An API address that matches no route is a problem document, like every other API error.
handler404 = "clt.views.not_found"
# And so is a request refused before any view (over 1,000 query parameters, say).
handler400 = "clt.views.bad_request"

# The trust's own name (CLT_NAME) on every staff page and browser tab, not a generic one.
admin.site.site_header = f"{settings.CLT_NAME} — registry"
admin.site.site_title = f"{settings.CLT_NAME} — staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),  # the admin's pages link no icon
    path("api/openapi.json", openapi.openapi, name="api-openapi"),  # the registry API, described
    path("admin/", admin.site.urls),
    path("", include("parcels.urls")),  # the vacant-lot finder: staff page and API (issue 4)
    path("", include("maps.urls")),  # /map/, /map/staff/, /tiles/{layer}/{z}/{x}/{y}.pbf (issue 5)
    path("ogcapi/", include("maps.ogcapi.urls")),  # OGC API - Features (issue 6)
    path("ogcapi", ogcapi_landing),  # GDAL and QGIS are often given the root without its slash
    path("export/", include("maps.export_urls")),  # downloads (issue 6)
    path("", include("leases.urls")),  # /staff/report/: the stewardship report (issue 3)
]
