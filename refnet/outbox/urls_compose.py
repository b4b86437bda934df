from django.urls import path

from .views import compose

urlpatterns = [
    path("", compose.compose, name="compose"),
]
