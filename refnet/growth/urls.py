from django.urls import path  # noqa: F401

app_name = "growth"
urlpatterns: list = []
