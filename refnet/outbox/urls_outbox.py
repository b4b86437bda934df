from django.urls import path

from .views import outbox

urlpatterns = [
    path("", outbox.outbox_list, name="list"),
    path("<int:pk>/", outbox.message_detail, name="detail"),
    path("<int:pk>/resend/", outbox.message_resend_view, name="resend"),
    path("<int:pk>/cancel/", outbox.message_cancel_view, name="cancel"),
    path("letters/", outbox.letters, name="letters"),
    path("letters/print/", outbox.letters_print, name="letters_print"),
]
