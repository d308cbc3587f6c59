"""Every /api/v1/ route, gathered from the apps: each app's api/routes.py has one register(router)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.accounts.api import routes as accounts
from apps.apikeys.api import routes as apikeys
from apps.approvals.api import routes as approvals
from apps.audit.api import routes as audit
from apps.builds.api import routes as builds
from apps.catalog.api import routes as catalog
from apps.cmdb.api import routes as cmdb
from apps.deployments.api import routes as deployments
from apps.marketplace.api import routes as marketplace
from apps.operator.api import routes as operator
from apps.tenants.api import routes as tenants
from apps.traffic.api import routes as traffic
from apps.webhooks.api import routes as webhooks
from apps.workloads.api import routes as workloads


class PortalRouter(SimpleRouter):
    """DRF's router plus plain API views (one resource, not a collection, such as /me/), so an app
    registers everything it serves through the same register(router) call."""

    def __init__(self):
        super().__init__()
        self.views = []

    def register_view(self, prefix: str, view, *, name: str) -> None:
        self.views.append(path(prefix, view.as_view(), name=name))

    def get_urls(self):
        return [*self.views, *super().get_urls()]


router = PortalRouter()
for app in (
    accounts,
    tenants,
    apikeys,
    audit,
    operator,
    catalog,
    builds,
    deployments,
    workloads,
    approvals,
    marketplace,
    traffic,
    cmdb,
    webhooks,
):
    app.register(router)

urlpatterns = router.urls
