"""/rewards/: appreciation and rewards within legal caps."""

from django.urls import path

from . import views

app_name = "rewards"
urlpatterns = [
    path("", views.index, name="index"),
    path("partner/<int:pk>/", views.log, name="log"),
    path("partner/<int:pk>/check/", views.check, name="check"),
    path("program/", views.program, name="program"),
    path("program/enable/", views.program_enable, name="program_enable"),
    path("program/disable/", views.program_disable, name="program_disable"),
    path("caps/", views.caps, name="caps"),
    path("caps/add/", views.cap_add, name="cap_add"),
    path("caps/<int:pk>/", views.cap_edit, name="cap_edit"),
    path("report/", views.report, name="report"),
    path("report.csv", views.report_csv, name="report_csv"),
]
