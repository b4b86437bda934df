from django.urls import path

from .views import inbox

urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("<int:pk>/done/", inbox.followup_done, name="done"),
    path("<int:pk>/skip/", inbox.followup_skip, name="skip"),
    path("<int:pk>/snooze/", inbox.followup_snooze, name="snooze"),
    path("<int:pk>/reassign/", inbox.followup_reassign, name="reassign"),
]
