"""Add-on pages of one tenant, under /t/<tenant_slug>/addons/: the marketplace with the tenant's
instances, one instance (state live, plan, bindings), and binding, unbinding and removing. Every
member reads; developers and above write (the services refuse others with the reason)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from apps.catalog.selectors import applications_for
from apps.core.errors import ApplicationError
from apps.core.numbers import digits
from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, tenant_view
from apps.tenants.principals import as_principal

from . import selectors, services
from .forms import BindForm, InstanceForm
from .models import BindingState, InstanceState, ServiceBinding, ServiceInstance


def _instance(request, pk: int) -> ServiceInstance:
    instance = selectors.instance_list_for(request, request.tenant).filter(pk=pk).first()
    if instance is None:
        raise Http404
    return instance


def _instance_form(request, data=None):
    return InstanceForm(
        data,
        offerings=selectors.offering_list(),
        environments=request.tenant.environments.order_by("name"),
        initial={"environment": "dev"},
    )


@tenant_view
def addon_list(request):
    """GET: the marketplace and the tenant's add-ons. POST: add one (it is provisioned in the background)."""
    form = _instance_form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        offering_slug, _, plan_slug = form.cleaned_data["plan"].partition("/")
        offering = selectors.offering_list().filter(slug=offering_slug).first()
        plan = offering.plans.filter(slug=plan_slug).first() if offering else None
        environment = request.tenant.environments.filter(name=form.cleaned_data["environment"]).first()
        try:
            if plan is None or environment is None:
                raise ApplicationError("Choose a plan and an environment from the lists.")
            instance = services.instance_create(
                actor=as_principal(request),
                tenant=request.tenant,
                environment=environment,
                offering=offering,
                plan=plan,
                name=form.cleaned_data["name"],
                justification=form.cleaned_data["justification"],
            )
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            return redirect("marketplace:detail", tenant_slug=request.tenant.slug, pk=instance.pk)
    context = {
        "offerings": selectors.offering_list(),
        "instances": selectors.instance_list_for(request, request.tenant),
        "form": form,
        "refused": form if form.errors else None,
        "may_add": policy_for(ServiceInstance).can_add(request, request.tenant),
    }
    status = 400 if request.method == "POST" else 200
    return render_tenant_page(request, "marketplace/list.html", context, section="addons", status=status)


@tenant_view
def addon_detail(request, pk):
    instance = _instance(request, pk)
    return _detail_page(request, instance, BindForm(applications=selectors.bindable_applications(instance)))


def _detail_page(request, instance, bind_form, status=200):
    context = {
        "instance": instance,
        "bindings": selectors.binding_list_for(request, request.tenant, instance=instance),
        "bind_form": bind_form,
        "refused": bind_form if status == 400 else None,
        "may_bind": instance.state == InstanceState.READY
        and policy_for(ServiceBinding).can_add(request, request.tenant),
        "may_remove": policy_for(ServiceInstance).can_delete(request, instance),
    }
    return render_tenant_page(request, "marketplace/detail.html", context, section="addons", status=status)


@require_POST
@tenant_view
def addon_bind(request, pk):
    """Bind an application; owners and admins see its connection details once, on the next page."""
    instance = _instance(request, pk)
    form = BindForm(request.POST, applications=selectors.bindable_applications(instance))
    if form.is_valid():
        application = selectors.bindable_applications(instance).get(pk=form.cleaned_data["application"])
        try:
            binding, variables = services.binding_create(
                actor=as_principal(request), instance=instance, application=application
            )
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            return _bound(request, instance, binding, variables)
    return _detail_page(request, instance, form, status=400)


@require_POST
@tenant_view
def application_bind(request):
    """ "Add a service" on the application page: bind the chosen ready add-on to the application."""
    instance = _instance(request, _number(request.POST.get("instance")))
    application = applications_for(request, tenant=request.tenant, pk=_number(request.POST.get("application"))).first()
    if application is None:
        raise Http404
    try:
        binding, variables = services.binding_create(
            actor=as_principal(request), instance=instance, application=application
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("catalog:detail", tenant_slug=request.tenant.slug, name=application.name)
    return _bound(request, instance, binding, variables)


def _number(value) -> int:
    return int(value) if digits(str(value or "")) else 0


def _bound(request, instance, binding, variables):
    """After a bind: owners and admins see the connection details once; others go back to the add-on."""
    if not variables:  # the provider binds asynchronously: the variables reach the Secret when it is done
        messages.success(
            request, f"The provider is binding {binding.application.name}; its next deployment gets the variables."
        )
        return redirect("marketplace:detail", tenant_slug=request.tenant.slug, pk=instance.pk)
    if policy_for(ServiceBinding).can_see_credentials(request, request.tenant):
        context = {"instance": instance, "binding": binding, "variables": sorted(variables.items())}
        response = render_tenant_page(request, "marketplace/credentials.html", context, section="addons")
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store"
        return response
    messages.success(request, f"{binding.application.name} is bound; its next deployment gets the variables.")
    return redirect("marketplace:detail", tenant_slug=request.tenant.slug, pk=instance.pk)


@require_POST
@tenant_view
def addon_unbind(request, pk, binding_pk):
    instance = _instance(request, pk)
    binding = selectors.binding_list_for(request, request.tenant, instance=instance).filter(pk=binding_pk).first()
    if binding is None:
        raise Http404
    try:
        binding = services.binding_delete(actor=as_principal(request), binding=binding)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if binding.state == BindingState.UNBINDING:
            messages.success(request, f"The provider is revoking {binding.application.name}'s credentials.")
        else:
            messages.success(request, f"{binding.application.name} is unbound; its credentials no longer work.")
    return redirect("marketplace:detail", tenant_slug=request.tenant.slug, pk=instance.pk)


@require_POST
@tenant_view
def addon_rotate(request, pk, binding_pk):
    instance = _instance(request, pk)
    binding = selectors.binding_list_for(request, request.tenant, instance=instance).filter(pk=binding_pk).first()
    if binding is None:
        raise Http404
    try:
        binding, variables = services.binding_rotate(actor=as_principal(request), binding=binding)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("marketplace:detail", tenant_slug=request.tenant.slug, pk=instance.pk)
    return _bound(request, instance, binding, variables)


@require_POST
@tenant_view
def addon_remove(request, pk):
    instance = _instance(request, pk)
    try:
        services.instance_deprovision(actor=as_principal(request), instance=instance)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Removing {instance.name} and its data.")
    return redirect("marketplace:detail", tenant_slug=request.tenant.slug, pk=instance.pk)
