"""Other apps' admin screens in the gateway's theme; Celery's schedules for superusers only.

Imported by config/urls.py, after every app's admin module has registered its models.
"""

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.http import HttpRequest
from django_celery_beat import admin as beat_admin
from django_celery_beat import models as beat
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm


class SuperuserOnly:
    """A schedule edited by mistake stops sealing the audit log or purging sessions: superusers only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request)


def _themed(model: type[Model], base: type[admin.ModelAdmin], *mixins: type) -> None:
    admin.site.unregister(model)
    admin.site.register(model, type(f"Themed{base.__name__}", (*mixins, base, ModelAdmin), {}))


class _UserForms:
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


_themed(User, UserAdmin, _UserForms)
_themed(Group, GroupAdmin)
_themed(LogEntry, LogEntryAdmin)
for _model, _admin in [
    (beat.PeriodicTask, beat_admin.PeriodicTaskAdmin),
    (beat.ClockedSchedule, beat_admin.ClockedScheduleAdmin),
    (beat.CrontabSchedule, beat_admin.CrontabScheduleAdmin),
    (beat.SolarSchedule, beat_admin.SolarScheduleAdmin),
    (beat.IntervalSchedule, beat_admin.IntervalScheduleAdmin),
]:
    _themed(_model, _admin, SuperuserOnly)
