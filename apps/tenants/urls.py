"""Pages of one tenant, under /t/<tenant_slug>/."""

from django.urls import path

from . import views

app_name = "tenants"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("members/", views.members, name="members"),
    path("members/invite/", views.invite, name="invite"),
    path("members/leave/", views.member_leave, name="leave"),
    path("members/<int:pk>/role/", views.member_role, name="member-role"),
    path("members/<int:pk>/remove/", views.member_remove, name="member-remove"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("environments/", views.environments, name="environments"),
    path("environments/<int:pk>/", views.environment_edit, name="environment-edit"),
    path("environments/<int:pk>/delete/", views.environment_delete, name="environment-delete"),
    path("quotas/", views.quotas, name="quotas"),
]
