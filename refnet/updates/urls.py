"""Updates to partners about treatments, prices and products."""

from django.urls import path

from . import views

app_name = "updates"
urlpatterns = [
    path("", views.update_list, name="list"),
    path("new/", views.update_new, name="new"),
    path("<int:pk>/", views.update_detail, name="detail"),
    path("<int:pk>/edit/", views.update_edit_view, name="edit"),
    path("<int:pk>/publish/", views.update_publish_view, name="publish"),
    path("<int:pk>/delete/", views.update_delete_view, name="delete"),
]
