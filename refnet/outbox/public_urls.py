"""Links that people outside the practice open: unsubscribe, provider webhooks."""

from django.urls import path

from .views import public

app_name = "public"
urlpatterns = [
    path("unsubscribe/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("sms/inbound/", public.sms_inbound, name="sms_inbound"),
]
