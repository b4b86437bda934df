from django.urls import path

from .views import rules

urlpatterns = [
    path("", rules.rules_list, name="rules"),
    path("add/", rules.rule_add, name="rule_add"),
    path("<int:pk>/", rules.rule_edit, name="rule_edit"),
    path("partner/<int:pk>/", rules.partner_rules, name="partner_rules"),
]
