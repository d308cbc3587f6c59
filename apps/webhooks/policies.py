"""Who may do what with webhook endpoints and their deliveries.

Endpoint URLs can carry tokens and deliveries carry event data, so both are for owners and admins only:
they read, create, change, rotate, test, replay and delete. Letting an endpoint reach private addresses
is for operators alone, through the operator API or console (services.endpoint_allow_private).
"""

from apps.core.policies import register
from apps.tenants.policies import TenantPolicy

from .models import WebhookDelivery, WebhookEndpoint


@register(WebhookEndpoint)
class WebhookEndpointPolicy(TenantPolicy):
    """Owners and admins see and manage the tenant's webhook endpoints; nobody else sees them."""

    resource = "webhooks"


@register(WebhookDelivery)
class WebhookDeliveryPolicy(TenantPolicy):
    """Owners and admins see every delivery and replay them; deliveries themselves are never edited."""

    resource = "webhooks"

    def can_change(self, principal, obj) -> bool:
        return False

    def can_delete(self, principal, obj) -> bool:
        return False

    def can_replay(self, principal, obj) -> bool:
        return self.allows(principal, "change", obj.tenant)
