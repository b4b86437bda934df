from django.urls import path

from .views import templates

urlpatterns = [
    path("", templates.template_list, name="templates"),
    path("new/", templates.template_new, name="template_new"),
    path("preview/", templates.template_preview, name="template_preview"),
    path("<int:pk>/", templates.template_edit, name="template_edit"),
]
