"""HL7 v2 over HTTP (see docs/hl7.md); MLLP is `refnet mllp`."""

from django.urls import path

from . import views

app_name = "hl7"
urlpatterns = [
    path("", views.receive, name="receive"),
]
