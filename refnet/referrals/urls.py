from django.urls import path

from . import views

app_name = "referrals"
urlpatterns = [
    path("", views.referral_list, name="list"),
    path("board/", views.referral_board, name="board"),
    path("intake/", views.intake, name="intake"),
    path("intake/patients/", views.patient_search_options, name="patient_search"),
    path("<int:pk>/", views.referral_detail, name="detail"),
    path("<int:pk>/transition/", views.referral_transition_view, name="transition"),
    path("<int:pk>/resolve-source/", views.referral_resolve_source_view, name="resolve_source"),
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
]
