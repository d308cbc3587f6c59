from django.urls import path

from . import views

app_name = "console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("tenants/", views.tenants, name="tenants"),
    path("tenants/<slug:slug>/", views.tenant_detail, name="tenant"),
    path("tenants/<slug:slug>/quota/", views.tenant_quota, name="tenant-quota"),
    path("tenants/<slug:slug>/status/", views.tenant_status, name="tenant-status"),
    path("audit/", views.audit, name="audit"),
    path("clusters/", views.clusters, name="clusters"),
    path("clusters/new/", views.cluster_new, name="cluster-new"),
    path("clusters/<slug:name>/", views.cluster_detail, name="cluster"),
    path("clusters/<slug:name>/check/", views.cluster_connectivity, name="cluster-check"),
]
