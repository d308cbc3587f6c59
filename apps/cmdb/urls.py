"""CMDB pages, under /t/<tenant_slug>/cmdb/."""

from django.urls import path

from . import views

app_name = "cmdb"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("new/", views.item_new, name="new"),
    path("import/", views.item_import, name="import"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
    path("export/", views.item_export, name="export"),
    path("filters/", views.filter_save, name="filter-save"),
    path("filters/<int:pk>/delete/", views.filter_delete, name="filter-delete"),
    path("relationships/<int:pk>/delete/", views.relationship_delete, name="relationship-delete"),
    path("workloads/<int:workload_id>/", views.workload_item, name="workload"),
    path("<int:pk>/", views.item_detail, name="detail"),
    path("<int:pk>/edit/", views.item_edit, name="edit"),
    path("<int:pk>/delete/", views.item_delete, name="delete"),
    path("<int:pk>/relate/", views.relationship_new, name="relationship-new"),
    path("<int:pk>/map/", views.item_map, name="map"),
]
