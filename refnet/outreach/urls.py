"""Outreach: events, playbooks, invitations (mounted at /outreach/)."""

from django.urls import path

from . import views

app_name = "outreach"
urlpatterns = [
    path("", views.events, name="events"),
    path("events/new/", views.event_new, name="event_new"),
    path("events/<int:pk>/", views.event_detail, name="event"),
    path("events/<int:pk>/edit/", views.event_edit, name="event_edit"),
    path("events/<int:pk>/send/", views.event_send, name="event_send"),
    path("events/<int:pk>/steps/", views.event_steps, name="event_steps"),
    path("events/<int:pk>/attribution/", views.event_attribution, name="event_attribution"),
    path("events/<int:pk>/invitees/pick/", views.invitee_picker, name="invitee_picker"),
    path("events/<int:pk>/invitees/add/", views.invitees_add, name="invitees_add"),
    path("events/<int:pk>/invitees/<int:invitee_pk>/", views.invitee_update,
         name="invitee_update"),
    path("events/<int:pk>/invitees/<int:invitee_pk>/remove/", views.invitee_remove,
         name="invitee_remove"),
    path("playbooks/", views.playbooks, name="playbooks"),
    path("playbooks/<int:pk>/use/", views.playbook_apply, name="playbook_apply"),
    path("rsvp/<str:token>/", views.rsvp, name="rsvp"),
]
