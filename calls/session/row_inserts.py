"""An INSERT of one new model row, its statement built once.

`Model.objects.create` compiles its INSERT (and runs save's signal and bookkeeping machinery) on
every call: the call row is written once per call (issue 24). The statement here is built once per
(model, database vendor); every value goes through its field's `pre_save` (so `auto_now_add`
stamps it, on the instance too) and `get_db_prep_save`, as the ORM's own INSERT does. No
`post_save` is sent: only for models nothing listens to (the caller's to know).
"""

from django.db import connection, transaction
from django.db.models import Model

_built: dict[tuple[type[Model], str], str] = {}


def insert_row(instance: Model) -> None:
    """INSERT `instance` (every concrete field; its primary key set already, e.g. by a uuid default)."""
    model = type(instance)
    if instance.pk is None:
        raise ValueError("the primary key must be set before the INSERT (this reads no id back)")
    fields = model._meta.concrete_fields
    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    key = (model, connection.vendor)
    if key not in _built:
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        table = connection.ops.quote_name(model._meta.db_table)
        _built[key] = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:  # as the ORM's save
        cursor.execute(_built[key], values)
    instance._state.adding, instance._state.db = False, connection.alias
