"""The stewardship report's staff page and CSV download."""

from django.urls import path

from leases import views

urlpatterns = [
    path("staff/report/", views.report_page, name="staff-report"),
    path("staff/report.csv", views.report_download, name="staff-report-csv"),
]
