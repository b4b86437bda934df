from django.contrib import admin
from django.urls import include, path

from refnet.accounts import views as account_views
from refnet.practice.health import health

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/two-step/", include("refnet.twofactor.urls")),
    path("health/", health, name="health"),
    path("accounts/", include("refnet.accounts.urls")),
    path("partners/", include("refnet.partners.urls")),
    path("referrals/", include("refnet.referrals.urls")),
    path("inbox/", include("refnet.followups.urls")),
    path("reports/", include("refnet.reports.urls")),
    path("messages/", include("refnet.outbox.urls")),
    path("network/", include("refnet.prospects.urls")),
    path("finder/", include("refnet.registry.urls")),
    path("outreach/", include("refnet.outreach.urls")),
    path("updates/", include("refnet.updates.urls")),
    path("rewards/", include("refnet.rewards.urls")),
    path("plan/", include("refnet.growth.urls")),
    path("import/", include("refnet.imports.urls")),
    path("api/", include("refnet.api.urls")),
    path("settings/api-keys/", include("refnet.api.urls_keys")),
    path("fhir/", include("refnet.fhir.urls")),
    path("hl7/", include("refnet.hl7.urls")),
    path("integrations/", include("refnet.hl7.urls_integrations")),
    path("u/", include("refnet.outbox.public_urls")),
    path("admin/", admin.site.urls),
]
