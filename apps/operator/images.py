"""Operator page for the image allow-list: the registries, paths and repositories releases may name
images from. The page parses input and calls the catalog's services, which check the operator and audit."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.catalog.images import FROM_SETTING, allowlist, image_rule_add, image_rule_remove, platform_registry
from apps.catalog.models import ImageRule
from apps.catalog.selectors import image_rules
from apps.core.operators import operator_required
from apps.tenants.forms import ServiceForm
from apps.tenants.principals import as_principal


class ImageRuleForm(ServiceForm):
    pattern = forms.CharField(
        max_length=300,
        label="Allow images from",
        widget=forms.TextInput(attrs={"placeholder": "ghcr.io/acme/*"}),
        help_text="A registry (ghcr.io), a path and everything under it (ghcr.io/acme/*), or one repository "
        "(docker.io/library/nginx).",
    )
    note = forms.CharField(max_length=200, required=False)


@operator_required
def images(request):
    form = ImageRuleForm(request.POST or None)
    rule = form.submit(image_rule_add, operator=as_principal(request))
    if rule is not None:
        messages.success(request, f"Images from {rule.pattern} are allowed.")
        return redirect("operator:images")
    entries = allowlist()
    return render(
        request,
        "operator/images.html",
        {
            "form": form,
            "rules": image_rules(),
            "from_setting": [entry for entry, source in entries if source == FROM_SETTING],
            "count": len(entries),
            "platform_registry": platform_registry(),
        },
        status=400 if request.method == "POST" else 200,
    )


@operator_required
@require_POST
def image_rule_delete(request, pk):
    rule = get_object_or_404(ImageRule, pk=pk)
    image_rule_remove(operator=as_principal(request), rule=rule)
    messages.success(request, f"{rule.pattern} is off the allow-list.")
    return redirect("operator:images")
