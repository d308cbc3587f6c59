"""The operators' service-template pages under /operator/templates/: every published version, and
publishing a new template (or the next version of one)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from apps.catalog import services
from apps.catalog.forms import TemplateForm
from apps.catalog.models import ServiceTemplate
from apps.catalog.selectors import template_list_with_usage
from apps.core.numbers import as_id
from apps.core.operators import operator_required
from apps.tenants.principals import as_principal


@operator_required
def template_list(request):
    templates = template_list_with_usage()
    return render(request, "operator/templates.html", {"templates": templates})


@operator_required
def template_new(request):
    """Publish a template; ?from=<id> starts from an existing one, to publish its next version."""
    source = None
    if pk := as_id(request.GET.get("from")):
        source = get_object_or_404(ServiceTemplate, pk=pk)
    form = TemplateForm(request.POST or None, initial=TemplateForm.initial_from(source) if source else None)
    template = form.submit(services.template_create, operator=as_principal(request))
    if template is not None:
        messages.success(request, f"Published {template.name} v{template.version}.")
        return redirect("operator:templates")
    # A refused POST renders the form again with 400, as the tenant pages do.
    return render(
        request,
        "operator/template_new.html",
        {"form": form, "source": source},
        status=400 if request.method == "POST" else 200,
    )
