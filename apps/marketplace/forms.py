"""Forms of the add-on pages. They only parse input; the services decide what is allowed."""

from django import forms

from apps.tenants.forms import ServiceForm


class InstanceForm(ServiceForm):
    """Add an add-on: a plan (offering/plan), the environment and a name."""

    plan = forms.ChoiceField(label="Plan")
    environment = forms.ChoiceField(label="Environment")
    name = forms.SlugField(
        max_length=40, help_text="Lower-case letters, digits and hyphens; unique in the environment."
    )
    justification = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: required for plans that need approval and in governed environments.",
    )

    def __init__(self, *args, offerings, environments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [
            (offering.name, [(f"{offering.slug}/{plan.slug}", _plan_label(plan)) for plan in offering.plans.all()])
            for offering in offerings
        ]
        self.fields["environment"].choices = [(env.name, env.name) for env in environments]


def _plan_label(plan) -> str:
    return f"{plan.offering.name} · {plan.name}" + (" (needs approval)" if plan.needs_approval else "")


class BindForm(ServiceForm):
    application = forms.ChoiceField(label="Application")

    def __init__(self, *args, applications, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].choices = [(app.pk, app.name) for app in applications]
