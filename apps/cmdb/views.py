"""CMDB pages under /t/<tenant_slug>/cmdb/: search with saved filters, an item with its relationships,
conflicts, impact and history, declaring items and relationships, the dependency map, import and
export. Views parse input, call one service or selector, and render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from apps.core.errors import ApplicationError
from apps.core.numbers import as_id
from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, tenant_view
from apps.tenants.principals import as_principal
from apps.workloads.selectors import workload_list_for

from . import selectors, services
from .choices import Direction, Provenance
from .filtersets import SEARCH_FIELDS, ItemFilterSet
from .forms import ImportForm, ItemForm, RelationshipForm, SaveFilterForm, SearchForm
from .models import ConfigurationItem, Relationship
from .policies import sees_platform
from .services.saved import saved_filter_create, saved_filter_delete

PAGE_SIZE = 200
SECTION = "cmdb"


def _status(request) -> int:
    return 400 if request.method == "POST" else 200


def _items(request):
    return selectors.item_list_for(request, tenant=request.tenant)


def _item(request, pk: int) -> ConfigurationItem:
    return get_object_or_404(_items(request), pk=pk)


def _to_item(item: ConfigurationItem, tenant):
    return redirect("cmdb:detail", tenant_slug=tenant.slug, pk=item.pk)


def _render(request, template: str, context: dict):
    return render_tenant_page(request, template, context, section=SECTION, status=_status(request))


# --- Search ------------------------------------------------------------------------------------


@tenant_view
@require_safe
def item_list(request):
    saved_filters = selectors.saved_filter_list_for(request, tenant=request.tenant)
    params = request.GET.copy()
    saved = None
    if pk := as_id(params.get("saved")):
        saved = get_object_or_404(saved_filters, pk=pk)
        params = params.copy()
        for key, value in saved.query.items():
            params[key] = value
    form = SearchForm(params)
    items = ItemFilterSet(params, queryset=_items(request)).qs.order_by("ci_type__name", "name", "id")
    query = {key: params[key] for key in SEARCH_FIELDS if params.get(key)}
    context = {
        "form": form,
        "items": items[:PAGE_SIZE],
        "total": items.count(),
        "page_size": PAGE_SIZE,
        "saved_filters": saved_filters,
        "saved": saved,
        "query": query,
        "save_form": SaveFilterForm(),
        "may_add": policy_for(ConfigurationItem).can_add(request, request.tenant),
    }
    return _render(request, "cmdb/list.html", context)


@tenant_view
@require_POST
def filter_save(request):
    form = SaveFilterForm(request.POST)
    query = {key: request.POST[key] for key in SEARCH_FIELDS if request.POST.get(key)}
    if form.is_valid():
        try:
            saved = saved_filter_create(
                actor=as_principal(request), tenant=request.tenant, name=form.cleaned_data["name"], query=query
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Saved the search “{saved.name}”.")
            return redirect(f"{reverse('cmdb:list', kwargs={'tenant_slug': request.tenant.slug})}?saved={saved.pk}")
    else:
        messages.error(request, "Give the search a name.")
    return redirect("cmdb:list", tenant_slug=request.tenant.slug)


@tenant_view
@require_POST
def filter_delete(request, pk):
    saved = get_object_or_404(selectors.saved_filter_list_for(request, tenant=request.tenant), pk=pk)
    try:
        saved_filter_delete(actor=as_principal(request), saved=saved)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted the saved search “{saved.name}”.")
    return redirect("cmdb:list", tenant_slug=request.tenant.slug)


# --- Items -------------------------------------------------------------------------------------


@tenant_view
def item_new(request):
    form = ItemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = services.item_declare(
                actor=as_principal(request),
                tenant=request.tenant,
                ci_type=data["ci_type"],
                name=data["name"],
                description=data["description"],
                labels=data["labels"],
                attributes=data["attributes"],
            )
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"{item.name} is in the CMDB.")
            return _to_item(item, request.tenant)
    context = {
        "form": form,
        "refused": form,
        "types": selectors.ci_type_list(declarable=True),
        "may_add": policy_for(ConfigurationItem).can_add(request, request.tenant),
    }
    return _render(request, "cmdb/item_form.html", context)


@tenant_view
def item_edit(request, pk):
    item = _item(request, pk)
    form = ItemForm(request.POST or None, item=item)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.item_update(
                actor=as_principal(request),
                item=item,
                name=data["name"],
                description=data["description"],
                labels=data["labels"],
                attributes=data["attributes"],
            )
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"{item.name} saved.")
            return _to_item(item, request.tenant)
    context = {
        "form": form,
        "item": item,
        "refused": form,
        "may_add": policy_for(ConfigurationItem).can(request, "change", item),
    }
    return _render(request, "cmdb/item_form.html", context)


@tenant_view
@require_POST
def item_delete(request, pk):
    item = _item(request, pk)
    try:
        services.item_delete(actor=as_principal(request), item=item)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _to_item(item, request.tenant)
    messages.success(request, f"{item.name} is removed from the CMDB; its history stays.")
    return redirect("cmdb:list", tenant_slug=request.tenant.slug)


@tenant_view
@require_safe
def item_detail(request, pk):
    item = _item(request, pk)
    edges = selectors.item_relationships_for(request, item=item, tenant=request.tenant)
    records = selectors.item_history_for(request, item=item)
    scope, platform = [request.tenant.pk], sees_platform(request)
    context = {
        "item": item,
        "attribute_cards": [
            ("Declared attributes", item.declared_attributes, "declared"),
            ("Discovered attributes", item.discovered_attributes, "discovered"),
        ],
        "outgoing": [e for e in edges if e.source_id == item.pk],
        "incoming": [e for e in edges if e.target_id == item.pk],
        "history": records.select_related("actor").order_by("-id")[:100],
        "downstream": selectors.impact_report(
            item, direction=Direction.DOWNSTREAM, depth=selectors.DEFAULT_DEPTH, tenant_ids=scope, platform=platform
        ),
        "upstream": selectors.impact_report(
            item, direction=Direction.UPSTREAM, depth=selectors.DEFAULT_DEPTH, tenant_ids=scope, platform=platform
        ),
        "may_change": policy_for(ConfigurationItem).can(request, "change", item),
        "may_relate": policy_for(Relationship).can_add(request, request.tenant),
    }
    return _render(request, "cmdb/detail.html", context)


@tenant_view
@require_safe
def workload_item(request, workload_id):
    """A workload's item, for the impact links of the workload and incident pages (the workloads app sits
    below the CMDB and does not know its keys): what depends on this workload, and what it relies on."""
    workload = get_object_or_404(workload_list_for(request, tenant=request.tenant), pk=workload_id)
    item = selectors.workload_item_for(request, workload=workload)
    if item is None:
        messages.info(
            request,
            f"{workload.application.name} in {workload.environment.name} is not in the CMDB yet: "
            "the next discovery of its cluster adds it.",
        )
        return redirect("cmdb:list", tenant_slug=request.tenant.slug)
    return redirect(f"{reverse('cmdb:detail', kwargs={'tenant_slug': request.tenant.slug, 'pk': item.pk})}#impact")


# --- Relationships -----------------------------------------------------------------------------


@tenant_view
def relationship_new(request, pk):
    item = _item(request, pk)
    form = RelationshipForm(request.POST or None, targets=_items(request).exclude(pk=item.pk).order_by("name"))
    if request.method == "POST" and form.is_valid():
        try:
            services.relationship_declare(
                actor=as_principal(request),
                source=item,
                target=form.cleaned_data["target"],
                kind=form.cleaned_data["kind"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            if exc.status == 404:
                raise
            form.add_application_error(exc)
        else:
            messages.success(request, "Relationship declared.")
            return _to_item(item, request.tenant)
    context = {
        "form": form,
        "item": item,
        "refused": form,
        "may_relate": policy_for(Relationship).can_add(request, request.tenant),
    }
    return _render(request, "cmdb/relationship_form.html", context)


@tenant_view
@require_POST
def relationship_delete(request, pk):
    edge = get_object_or_404(selectors.relationship_list_for(request, tenant=request.tenant), pk=pk)
    try:
        services.relationship_delete(actor=as_principal(request), relationship=edge)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Relationship removed.")
    return _to_item(edge.source, request.tenant)


# --- Map, import, export -----------------------------------------------------------------------


@tenant_view
@require_safe
def item_map(request, pk):
    item = _item(request, pk)
    context = {
        "item": item,
        "types": selectors.ci_type_list(),
        "depths": range(1, selectors.MAX_DEPTH + 1),
        "provenances": Provenance.choices,
        "graph_url": reverse("cmdb-item-graph", args=[item.pk]),
        "dot_url": reverse("cmdb-item-graph-dot", args=[item.pk]),
        "item_url": reverse("cmdb:detail", kwargs={"tenant_slug": request.tenant.slug, "pk": 0}),
    }
    return _render(request, "cmdb/map.html", context)


@tenant_view
def item_import(request):
    """Small imports answer with their report; large ones become a job whose page follows it."""
    form = ImportForm(request.POST or None, request.FILES or None, initial={"dry_run": True})
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.imports.size_check(upload.size)
            submitted = services.import_submit(
                actor=as_principal(request),
                tenant=request.tenant,
                content=upload.read(),
                file_format=services.imports.file_format(upload.name),
                dry_run=form.cleaned_data["dry_run"],
                skip_invalid=form.cleaned_data["skip_invalid"],
            )
        except ApplicationError as exc:
            report = exc.report if isinstance(exc, services.imports.RowsInvalid) else None
            form.add_application_error(exc)
        else:
            if submitted.job is not None:
                messages.info(request, f"{submitted.job.total} rows are being imported in the background.")
                return redirect("cmdb:import-job", tenant_slug=request.tenant.slug, pk=submitted.job.pk)
            report = submitted.report
            if report["applied"]:
                messages.success(
                    request,
                    "Imported: {create} created, {update} updated, {unchanged} unchanged, {error} skipped.".format(
                        **report["summary"]
                    ),
                )
    context = {
        "form": form,
        "report": report,
        "refused": form,
        "jobs": _jobs(request)[:10],
        "limits": {name.lower(): services.imports.limit(name) for name in ("MAX_BYTES", "MAX_ROWS", "SYNC_ROWS")},
        "may_add": policy_for(ConfigurationItem).can_add(request, request.tenant),
    }
    status = 400 if request.method == "POST" and (not form.is_valid() or form.errors) else 200
    return render_tenant_page(request, "cmdb/import.html", context, section=SECTION, status=status)


def _jobs(request):
    return selectors.import_job_list_for(request, tenant=request.tenant)


@tenant_view
@require_safe
def import_job(request, pk):
    """One background import: state and progress (the page reloads itself until it ends), then its
    report's invalid rows."""
    job = get_object_or_404(_jobs(request), pk=pk)
    return _render(request, "cmdb/import_job.html", {"job": job})


@tenant_view
@require_safe
def item_export(request):
    fmt = "csv" if request.GET.get("as") == "csv" else "json"
    items = ItemFilterSet(request.GET, queryset=_items(request).filter(tenant=request.tenant)).qs.order_by("id")
    response = HttpResponse(
        services.export_text(items, fmt), content_type="text/csv" if fmt == "csv" else "application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{request.tenant.slug}-cmdb.{fmt}"'
    return response
