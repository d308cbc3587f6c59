"""The strategy part of the deploy form: parsed here, checked by plan.strategy_plan."""

from django import forms

from ..choices import Strategy
from .plan import MAX_GATE_SECONDS, MAX_KEEP_SECONDS, strategy_plan


class StrategyFields(forms.Form):
    """Mixed into DeployForm after its own fields."""

    strategy = forms.ChoiceField(choices=Strategy.choices, initial=Strategy.ROLLING)
    steps = forms.CharField(
        required=False,
        max_length=60,
        label="Canary steps (% of traffic)",
        help_text="Comma-separated, e.g. 10, 50, 100. Canary only.",
    )
    gate_seconds = forms.IntegerField(
        min_value=0,
        max_value=MAX_GATE_SECONDS,
        required=False,
        label="Health gate (seconds)",
        help_text="Canary: advance once the canary is healthy this long. Empty: wait for Continue at each step.",
    )
    keep_seconds = forms.IntegerField(
        min_value=0,
        max_value=MAX_KEEP_SECONDS,
        required=False,
        label="Keep the old colour (seconds)",
        help_text="Blue-green: how long Switch back stays possible. Default 600.",
    )

    def clean_steps(self):
        text = self.cleaned_data["steps"].replace(" ", "")
        if not text:
            return None
        try:
            return [int(part.rstrip("%")) for part in text.split(",") if part]
        except ValueError:
            raise forms.ValidationError("Whole percentages separated by commas, e.g. 10, 50, 100.") from None

    def plan(self):
        """The checked plan; raises ApplicationError naming every field at fault."""
        return self.strategy_check(self.cleaned_data, set())

    def strategy_check(self, data: dict, invalid: set[str]):
        """The plan of `data` checked, skipping the fields in `invalid` (they failed to parse)."""
        release = data.get("release")
        return strategy_plan(
            strategy=data.get("strategy", ""),
            application=release.application if release is not None else getattr(self, "application", None),
            steps=data.get("steps"),
            gate_seconds=data.get("gate_seconds"),
            keep_seconds=data.get("keep_seconds"),
            invalid=invalid,
        )
