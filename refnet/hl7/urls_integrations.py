"""/integrations/: HL7 subscribers and the HL7/FHIR message log (managers and admins)."""

from django.urls import path

from . import views_integrations as views

app_name = "integrations"
urlpatterns = [
    path("", views.message_log, name="log"),
    path("hl7/<int:pk>/", views.hl7_message, name="hl7_message"),
    path("fhir/<int:pk>/", views.fhir_request, name="fhir_request"),
    path("subscribers/", views.subscriber_list, name="subscribers"),
    path("subscribers/new/", views.subscriber_edit, name="subscriber_new"),
    path("subscribers/<int:pk>/", views.subscriber_edit, name="subscriber_edit"),
    path("subscribers/<int:pk>/enable/", views.subscriber_enable, name="subscriber_enable"),
]
