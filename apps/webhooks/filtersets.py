"""Filters of the webhook lists, shared by the API and the pages."""

import django_filters

from apps.core.api import IdFilter

from .models import DeliveryState, WebhookDelivery, WebhookEndpoint


class WebhookEndpointFilterSet(django_filters.FilterSet):
    class Meta:
        model = WebhookEndpoint
        fields = ["is_active"]


class WebhookDeliveryFilterSet(django_filters.FilterSet):
    # By id, not as a model choice: an endpoint the caller cannot see reads as an empty list.
    endpoint = IdFilter(field_name="endpoint_id")
    state = django_filters.ChoiceFilter(choices=DeliveryState.choices)
    event = django_filters.CharFilter()

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "state", "event"]
