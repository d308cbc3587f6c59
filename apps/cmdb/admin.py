from django.contrib import admin

from .models import CIType, DiscoveryRun


@admin.register(CIType)
class CITypeAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "is_platform", "is_builtin"]


@admin.register(DiscoveryRun)
class DiscoveryRunAdmin(admin.ModelAdmin):
    list_display = ["cluster", "started_at", "finished_at", "error"]
