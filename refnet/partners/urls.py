from django.urls import path

from . import views

app_name = "partners"
urlpatterns = [
    path("", views.partner_list, name="list"),
    path("new/", views.partner_create_view, name="create"),
    path("removed/", views.partner_gone_list, name="gone"),
    path("<int:pk>/remove/", views.partner_remove_view, name="remove"),
    path("<int:pk>/restore/", views.partner_restore_view, name="restore"),
    path("<int:pk>/", views.partner_detail, name="detail"),
    path("<int:pk>/edit/", views.partner_edit, name="edit"),
    path("<int:pk>/contacts/new/", views.contact_add, name="contact_add"),
    path("<int:pk>/merge/", views.partner_merge_view, name="merge"),
    path("<int:pk>/merge/<int:duplicate_pk>/", views.partner_merge_confirm,
         name="merge_confirm"),
]
