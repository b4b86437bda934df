from django.urls import path

from .views import reports

urlpatterns = [
    path("", reports.report_list, name="list"),
    path("<slug:slug>/", reports.report_detail, name="report"),
]
