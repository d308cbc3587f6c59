"""The webhook endpoint form. It only parses; the services decide what is allowed."""

from django import forms

from apps.tenants.forms import ServiceForm

from .events import EVENT_TYPES, GROUPS


class WebhookEndpointForm(ServiceForm):
    url = forms.CharField(
        label="URL",
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/portal"}),
        help_text="Public http(s) address; private and loopback addresses are refused.",
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=[*GROUPS.items(), *EVENT_TYPES.items()], widget=forms.CheckboxSelectMultiple
    )
