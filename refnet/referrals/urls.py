from django.urls import path

from .views import intake, patient_export, pipeline, removal, visits

app_name = "referrals"
urlpatterns = [
    path("", pipeline.referral_list, name="list"),
    path("board/", pipeline.referral_board, name="board"),
    path("intake/", intake.intake, name="intake"),
    path("intake/patients/", intake.patient_search_options, name="patient_search"),
    path("intake/sources/", intake.source_search_options, name="source_search"),
    path("<int:pk>/", pipeline.referral_detail, name="detail"),
    path("<int:pk>/transition/", pipeline.referral_transition_view, name="transition"),
    path("<int:pk>/resolve-source/", pipeline.referral_resolve_source_view,
         name="resolve_source"),
    path("patients/<int:pk>/", pipeline.patient_detail, name="patient_detail"),
    path("patients/<int:pk>/export/", patient_export.patient_export, name="patient_export"),
    path("<int:pk>/visits/", visits.visit_add, name="visit_add"),
    path("removed/", removal.referral_removed_list, name="removed"),
    path("<int:pk>/remove/", removal.referral_remove_view, name="remove"),
    path("<int:pk>/restore/", removal.referral_restore_view, name="restore"),
]
