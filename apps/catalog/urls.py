"""Application pages, under /t/<tenant_slug>/apps/."""

from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.application_list, name="list"),
    path("new/", views.application_new, name="new"),
    path("<slug:name>/", views.application_detail, name="detail"),
    path("<slug:name>/edit/", views.application_edit, name="edit"),
    path("<slug:name>/releases/", views.releases, name="releases"),
    path("<slug:name>/releases/<int:number>/", views.release_detail, name="release"),
]
