"""The strategy part of the deploy form: parsed here, checked by plan.strategy_plan."""

from django import forms

from ..choices import Strategy
from .plan import MAX_COOKIE_NAME, MAX_GATE_SECONDS, MAX_HEADER_NAME, MAX_HEADER_VALUE, MAX_KEEP_SECONDS, strategy_plan


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
    match_header_name = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_HEADER_NAME,
        label="Canary header",
        help_text="Requests with this header (e.g. X-Canary) and the value below reach the canary at every step.",
    )
    match_header_value = forms.CharField(
        required=False, strip=False, max_length=MAX_HEADER_VALUE, label="Canary header value", help_text="e.g. always"
    )
    match_cookie = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_COOKIE_NAME,
        label="Canary cookie",
        help_text="Requests with this cookie set to “always” reach the canary at every step.",
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
            match_header=_header(data, invalid),
            match_cookie=data.get("match_cookie"),
            release=release,
            invalid=_plan_fields(invalid),
        )


def _header(data: dict, invalid: set[str]) -> dict | None:
    """The header to match from its two fields; a value without a name (or the reverse) is checked as given."""
    name, value = data.get("match_header_name") or "", data.get("match_header_value") or ""
    if not (name or value) or {"match_header_name", "match_header_value"} & invalid:
        return None
    return {"name": name, "value": value}


def _plan_fields(invalid: set[str]) -> set[str]:
    """The form's fields that failed to parse, named as the plan names them."""
    return {"match_header" if field.startswith("match_header_") else field for field in invalid}
