from django.contrib import admin
from django.urls import include, path

from refnet.accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("refnet.accounts.urls")),
    path("partners/", include("refnet.partners.urls")),
    path("referrals/", include("refnet.referrals.urls")),
    path("inbox/", include("refnet.followups.urls")),
    path("reports/", include("refnet.reports.urls")),
    path("messages/", include("refnet.outbox.urls")),
    path("u/", include("refnet.outbox.public_urls")),
    path("admin/", admin.site.urls),
]
