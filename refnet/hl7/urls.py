from django.urls import path  # noqa: F401

app_name = "hl7"
urlpatterns: list = []
