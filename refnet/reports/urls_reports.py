from django.urls import path

from .views import reports, rows

urlpatterns = [
    path("", reports.report_list, name="list"),
    path("<slug:slug>/", reports.report_detail, name="report"),
    path("<slug:slug>/rows/", rows.report_rows, name="rows"),
]
