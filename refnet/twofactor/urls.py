from django.urls import path

from . import views

app_name = "twofactor"
urlpatterns = [
    path("", views.security, name="security"),
    path("code/", views.verify, name="verify"),
    path("enroll/", views.enroll, name="enroll"),
    path("backup-codes/", views.backup_codes, name="backup_codes"),
    path("backup-codes/new/", views.backup_codes_new, name="backup_codes_new"),
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/reset/", views.user_reset, name="user_reset"),
]
