"""URL configuration: the public site, the staff admin."""

from django.contrib import admin
from django.urls import path

from clt import views

admin.site.site_header = "Land trust registry"
admin.site.site_title = "clt staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
