"""URL configuration: the public site, the staff admin."""

from django.contrib import admin
from django.urls import include, path

from clt import views

admin.site.site_header = "Land trust registry"
admin.site.site_title = "clt staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("parcels.urls")),  # the vacant-lot finder: staff page and API (issue 4)
    path("", include("leases.urls")),  # /staff/report/: the stewardship report (issue 3)
]
