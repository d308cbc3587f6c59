"""Approval pages of one tenant, under /t/<tenant_slug>/approvals/."""

from django.urls import path

from . import views

app_name = "approvals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/approve/", views.decide, {"verdict": "approve"}, name="approve"),
    path("<int:pk>/reject/", views.decide, {"verdict": "reject"}, name="reject"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("policies/", views.policies, name="policies"),
    path("policies/<int:environment>/", views.policy_edit, name="policy-edit"),
    path("policies/<int:pk>/delete/", views.policy_delete, name="policy-delete"),
    path("freezes/", views.freezes, name="freezes"),
    path("freezes/new/", views.freeze_new, name="freeze-new"),
    path("freezes/<int:pk>/delete/", views.freeze_delete, name="freeze-delete"),
]
