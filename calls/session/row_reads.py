"""One model row by a fixed condition, read with a statement built once.

The ORM compiles a query (filters, joins, ordering, SQL) on every `.filter().first()`: about 0.5 ms
of CPU, four times a call for the call's own row. The statement here is built once per database
vendor; the row becomes a model instance through the same per-field converters the ORM applies
(a JSON field's text, for one), so the instance is the one the ORM would have given.
"""

from collections.abc import Sequence
from typing import Generic, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


class RowReader(Generic[M]):
    def __init__(self, model: type[M], *where: str) -> None:
        self.model = model
        self._fields = model._meta.concrete_fields
        self._attnames = [field.attname for field in self._fields]
        by_attname = dict(zip(self._attnames, self._fields, strict=True))
        self._keys = [by_attname[name] for name in where]  # compared for equality, ANDed; a KeyError names a typo
        self._built: dict[str, tuple[str, list]] = {}  # vendor -> (SQL, converters)

    def one(self, *params: object) -> M | None:
        """The row whose `where` fields equal `params`, as a model instance; None if there is none."""
        if any(value is None for value in params):
            raise ValueError("a condition on None (SQL NULL never equals anything): not supported")
        sql, converted = self._statement()
        values = [field.get_db_prep_value(value, connection) for field, value in zip(self._keys, params, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for index, column, field_converters in converted:
            # The backend's converters are asked of this thread's connection (they are its methods).
            for convert in connection.ops.get_db_converters(column) + field_converters:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self._attnames, values)

    def _statement(self) -> tuple[str, Sequence]:
        built = self._built.get(connection.vendor)
        if built is None:
            quote, table = connection.ops.quote_name, self.model._meta.db_table
            columns = ", ".join(quote(field.column) for field in self._fields)
            condition = " AND ".join(f"{quote(field.column)} = %s" for field in self._keys)
            sql = f"SELECT {columns} FROM {quote(table)} WHERE {condition}"  # noqa: S608 (the model's names)
            converted = []  # the columns this vendor converts, with the field's own converters
            for index, field in enumerate(self._fields):
                column = field.get_col(table)
                if connection.ops.get_db_converters(column) or field.get_db_converters(connection):
                    converted.append((index, column, field.get_db_converters(connection)))
            built = self._built[connection.vendor] = (sql, converted)
        return built
