"""Top-level URL map: the tenant portal, accounts, the API, the operator console, health."""

from allauth.account.decorators import secure_admin_login
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from apps.accounts import views as account_views
from apps.apikeys.developer_console import developer_console
from apps.builds import views as build_views
from apps.core import views as core_views
from apps.core.deprecation import api_changelog
from apps.core.schema import SchemaView
from apps.tenants import views as tenant_views

from . import views

# The admin login goes through allauth, so its rate limits and MFA apply there too.
admin.autodiscover()
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "PaaS Portal administration"

urlpatterns = [
    path("", views.home, name="home"),
    # Two consoles, two audiences: /console/ is a tenant member's API keys, /operator/ is for staff.
    path("console/", developer_console, name="developer-console"),
    path("operator/", include("apps.operator.urls")),
    path("tenants/new/", tenant_views.tenant_create, name="tenant-create"),
    path(
        "invitations/pending/<int:pk>/accept/", tenant_views.invitation_accept_pending, name="invitation-accept-pending"
    ),
    path("invitations/<str:token>/", tenant_views.invitation_accept, name="invitation-accept"),
    path("t/<slug:tenant_slug>/", include("apps.tenants.urls")),
    path("t/<slug:tenant_slug>/keys/", include("apps.apikeys.urls")),
    path("t/<slug:tenant_slug>/consumers/", include("apps.traffic.consumer_urls")),
    path("t/<slug:tenant_slug>/audit/", include("apps.audit.urls")),
    path("t/<slug:tenant_slug>/apps/<slug:name>/traffic/", include("apps.traffic.urls")),
    path("t/<slug:tenant_slug>/apps/", include("apps.catalog.urls")),
    path("t/<slug:tenant_slug>/deployments/", include("apps.deployments.urls")),
    path("t/<slug:tenant_slug>/workloads/", include("apps.workloads.urls")),
    path("t/<slug:tenant_slug>/builds/", include("apps.builds.urls")),
    # The platform registry's token realm (apps/builds/tokens.py).
    path("registry/token/", build_views.registry_token, name="registry-token"),
    path("t/<slug:tenant_slug>/approvals/", include("apps.approvals.urls")),
    path("t/<slug:tenant_slug>/cmdb/", include("apps.cmdb.urls")),
    path("t/<slug:tenant_slug>/webhooks/", include("apps.webhooks.urls")),
    path("t/<slug:tenant_slug>/addons/", include("apps.marketplace.urls")),
    # allauth's "check your email" page, with the address filled into its resend form.
    path(
        "accounts/confirm-email/", account_views.VerificationSentView.as_view(), name="account_email_verification_sent"
    ),
    path("accounts/", include("allauth.urls")),
    path("account/", include("apps.accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("portal.api_router")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/changelog/", api_changelog, name="api-changelog"),
    # Swagger UI sets inline styles on its own elements; scripts stay strictly 'self' there too.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("favicon.ico", core_views.favicon),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("", include("django_prometheus.urls")),
]

handler400 = "apps.core.views.bad_request"
handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
handler429 = "apps.core.views.too_many_requests"
