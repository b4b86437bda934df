from django.urls import path

from . import views

app_name = "prospects"
urlpatterns = [
    path("", views.board, name="board"),
    path("move/<int:pk>/", views.stage_move, name="move"),
    path("fit/weights/", views.weights, name="weights"),
    path("fit/<int:pk>/", views.scorecard, name="scorecard"),
]
