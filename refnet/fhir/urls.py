"""FHIR R4: ServiceRequest and Task (see docs/fhir.md)."""

from django.urls import path

from . import views

app_name = "fhir"
urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("ServiceRequest", views.service_requests, name="service_requests"),
    # Before the read route, which would otherwise take "$export" for an id.
    path("ServiceRequest/$export", views.service_request_export, name="export"),
    path("ServiceRequest/<str:resource_id>", views.service_request_read,
         name="service_request"),
    path("Task", views.tasks, name="tasks"),
    path("Task/<str:resource_id>", views.task_read, name="task"),
]
