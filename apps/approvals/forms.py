"""Forms of the approvals pages. They only parse input; the services decide what is allowed."""

from django import forms
from django.contrib.auth import get_user_model

from apps.tenants.forms import ServiceForm
from apps.tenants.models import Environment, promotion_order

from .choices import APPROVER_ROLES, Recurrence
from .services.configuration import MAX_STAGES

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class DecisionForm(ServiceForm):
    comment = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the request and in the audit trail.",
    )


class WithdrawForm(ServiceForm):
    reason = forms.CharField(max_length=500, required=False)


class PolicyForm(ServiceForm):
    """An environment's policy with up to five stages; a stage is used when it names someone."""

    requires_approval = forms.BooleanField(required=False, initial=True, label="Changes need approval")
    allow_self_approval = forms.BooleanField(required=False, label="The requester may approve their own change")
    expire_after_hours = forms.IntegerField(min_value=1, initial=72, label="Pending requests expire after (hours)")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(memberships__tenant=tenant).order_by("email")
        for index in range(MAX_STAGES):
            prefix = f"stage-{index}-"
            self.fields[prefix + "name"] = forms.CharField(
                max_length=80, required=False, label=f"Stage {index + 1} name"
            )
            self.fields[prefix + "roles"] = forms.MultipleChoiceField(
                choices=[(role, role.title()) for role in APPROVER_ROLES],
                required=False,
                widget=forms.CheckboxSelectMultiple,
                label="Roles that approve",
            )
            self.fields[prefix + "members"] = forms.ModelMultipleChoiceField(
                queryset=users, required=False, label="Named approvers", widget=forms.SelectMultiple(attrs={"size": 3})
            )
            self.fields[prefix + "members"].label_from_instance = lambda user: user.email
            self.fields[prefix + "quorum"] = forms.IntegerField(
                min_value=1, max_value=10, initial=1, required=False, label="Quorum"
            )

    def stage_fields(self):
        """[(number, name, roles, members, quorum)] bound fields, for the template."""
        return [
            (index + 1, *(self[f"stage-{index}-{part}"] for part in ("name", "roles", "members", "quorum")))
            for index in range(MAX_STAGES)
        ]

    def stage_list(self) -> list[dict]:
        data, stages = self.cleaned_data, []
        for index in range(MAX_STAGES):
            prefix = f"stage-{index}-"
            roles, members = data.get(prefix + "roles") or [], data.get(prefix + "members") or []
            if not (roles or members):
                continue
            stages.append(
                {
                    "name": data.get(prefix + "name") or f"Stage {len(stages) + 1}",
                    "quorum": data.get(prefix + "quorum") or 1,
                    "roles": list(roles),
                    "members": [user.pk for user in members],
                }
            )
        return stages

    @classmethod
    def initial_for(cls, policy) -> dict:
        if policy is None:
            return {
                "requires_approval": True,
                "expire_after_hours": 72,
                "stage-0-name": "Admins",
                "stage-0-roles": ["admin", "owner"],
                "stage-0-quorum": 1,
            }
        initial = {
            "requires_approval": policy.requires_approval,
            "allow_self_approval": policy.allow_self_approval,
            "expire_after_hours": policy.expire_after_hours,
        }
        for index, stage in enumerate(policy.stages.order_by("position")):
            initial.update(
                {
                    f"stage-{index}-name": stage.name,
                    f"stage-{index}-roles": list(stage.roles),
                    f"stage-{index}-members": list(stage.members.all()),
                    f"stage-{index}-quorum": stage.quorum,
                }
            )
        return initial


class FreezeWindowForm(ServiceForm):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "Black Friday"}))
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.none(), required=False, empty_label="Every production environment"
    )
    recurrence = forms.ChoiceField(choices=Recurrence.choices, initial=Recurrence.ONCE)
    starts_at = forms.DateTimeField(
        required=False, label="Starts (once)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        required=False, label="Ends (once)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label="Weekdays (weekly)"
    )
    start_time = forms.TimeField(
        required=False, label="From (weekly, UTC)", widget=forms.TimeInput(attrs={"type": "time"})
    )
    end_time = forms.TimeField(
        required=False, label="Until (weekly, UTC)", widget=forms.TimeInput(attrs={"type": "time"})
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].queryset = Environment.objects.filter(tenant=tenant).order_by(*promotion_order())
        self.fields["environment"].label_from_instance = lambda env: env.name


class ApprovalRulesForm(ServiceForm):
    """The platform's limits, set by operators (apps/operator/approvals.py)."""

    production_requires_approval = forms.BooleanField(
        required=False, label="Every production environment needs approval"
    )
    min_quorum = forms.IntegerField(min_value=1, max_value=10, label="Least quorum of a production stage")
    allow_self_approval = forms.BooleanField(required=False, label="Tenants may let requesters approve themselves")
    max_pending_hours = forms.IntegerField(min_value=1, max_value=24 * 90, label="Longest a request may wait (hours)")
    review_sla_hours = forms.IntegerField(min_value=1, label="Review SLA (hours)")
