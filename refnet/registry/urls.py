from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("", views.finder, name="finder"),
    path("add/<int:npi>/", views.add_prospect, name="add"),
    path("pairs/", views.pairs, name="pairs"),
    path("pairs/add/", views.pair_save, name="pair_add"),
    path("pairs/<int:pk>/", views.pair_save, name="pair_edit"),
    path("pairs/<int:pk>/delete/", views.pair_delete, name="pair_delete"),
    path("imports/", views.imports, name="imports"),
    path("imports/upload/", views.import_upload, name="import_upload"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/resume/", views.import_resume, name="import_resume"),
]
