"""The Continue and Switch back buttons of the deployment page."""

from django.views.decorators.http import require_POST

from apps.tenants.pages import tenant_view

from .. import services
from ..views import _act


@require_POST
@tenant_view
def deployment_continue(request, pk):
    return _act(request, pk, services.deployment_continue, "The canary moves on to its next step.", glass=True)


@require_POST
@tenant_view
def deployment_switch_back(request, pk):
    return _act(request, pk, services.deployment_switch_back, "Switching traffic back to the old colour.")
