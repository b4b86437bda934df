"""The growth plan."""

from django.urls import path

from . import views

app_name = "growth"
urlpatterns = [
    path("", views.plan, name="plan"),
    path("start/", views.plan_start_view, name="start"),
    path("goals/new/", views.goal_new, name="goal_new"),
    path("goals/<int:pk>/", views.goal_edit, name="goal_edit"),
    path("goals/<int:pk>/items/new/", views.item_new, name="item_new"),
    path("items/<int:pk>/", views.item_edit, name="item_edit"),
]
