"""Scheduling rules in the admin (issue 22): the same keys as the YAML's `scheduling:` section."""

from django.contrib import admin
from unfold.admin import ModelAdmin

from ehr_integrations.models import SchedulingRules


@admin.register(SchedulingRules)
class SchedulingRulesAdmin(ModelAdmin):
    list_display = ("health_system", "updated_at")
    search_fields = ("health_system__slug", "health_system__name")
