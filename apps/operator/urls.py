"""Every operator page, mounted once under /operator/ by portal/urls.py, in the "operator" namespace.
An app's operator pages live in a module of this app (cmdb.py, service_templates.py ...) and are listed
here; nothing else mounts staff-only pages."""

from django.urls import path

from . import addons, approvals, cmdb, domains, images, incidents, plans, service_templates, sso, views

app_name = "operator"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("tenants/", views.tenants, name="tenants"),
    path("backlog/", views.backlog, name="backlog"),
    path("tenants/<slug:slug>/", views.tenant_detail, name="tenant"),
    path("tenants/<slug:slug>/quota/", views.tenant_quota, name="tenant-quota"),
    path("tenants/<slug:slug>/status/", views.tenant_status, name="tenant-status"),
    path("tenants/<slug:slug>/plan/", plans.tenant_plan, name="tenant-plan"),
    path("plans/", plans.plan_list, name="plans"),
    path("plans/new/", plans.plan_new, name="plan-new"),
    path("plans/<int:pk>/", plans.plan_edit, name="plan"),
    path("domains/", domains.domains, name="domains"),
    path("domains/<int:pk>/delete/", domains.domain_delete, name="domain-delete"),
    path("domains/hosts/<int:pk>/release/", domains.host_claim_release, name="host-claim-release"),
    path("sso/", sso.single_sign_on, name="sso"),
    path("images/", images.images, name="images"),
    path("images/<int:pk>/delete/", images.image_rule_delete, name="image-rule-delete"),
    path("audit/", views.audit, name="audit"),
    path("incidents/", incidents.incidents, name="incidents"),
    path("approvals/", approvals.approvals, name="approvals"),
    path("approvals/rules/", approvals.approval_rules, name="approval-rules"),
    path("approvals/<int:pk>/approve/", approvals.decide, {"verdict": "approve"}, name="approval-approve"),
    path("approvals/<int:pk>/reject/", approvals.decide, {"verdict": "reject"}, name="approval-reject"),
    path("clusters/", views.clusters, name="clusters"),
    path("clusters/new/", views.cluster_new, name="cluster-new"),
    path("clusters/<slug:name>/", views.cluster_detail, name="cluster"),
    path("clusters/<slug:name>/check/", views.cluster_connectivity, name="cluster-check"),
    path("cmdb/", cmdb.overview, name="cmdb"),
    path("cmdb/discover/", cmdb.discover_now, name="cmdb-discover"),
    path("templates/", service_templates.template_list, name="templates"),
    path("templates/new/", service_templates.template_new, name="template-new"),
    path("addons/", addons.addons, name="addons"),
    path("addons/instances/<int:pk>/retry/", addons.addon_retry, name="addon-retry"),
]
