"""Posting admin pages back as a browser would: what the page shows, changed where a test says."""

import re

from django import forms


def form_data(response) -> dict:
    """What the page would post back unchanged: the form's initial values (a structured editor's as its
    parts, name_0, name_1, ...) and every inline's management form."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        value = value() if callable(value) else value
        if isinstance(field, forms.MultiValueField):
            for index, part in enumerate(field.widget.decompress(value)):
                if part:
                    data[f"{name}_{index}"] = part
        elif value is not None and value is not False:
            data[name] = field.prepare_value(value) if hasattr(field, "prepare_value") else value
    for inline in response.context.get("inline_admin_formsets", []):
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, "")
    return data


def error_beside(html: str, input_id: str) -> str:
    """The error list the input points at with aria-describedby (empty when there is none)."""
    field_input = re.search(rf'<(input|textarea|select)[^>]*id="{input_id}"[^>]*>', html)
    assert field_input and f"{input_id}_error" in field_input.group(0), f"{input_id} names no error"
    errors = re.search(rf'<ul[^>]*id="{input_id}_error"[^>]*>(.*?)</ul>', html, re.S)
    return errors.group(1) if errors else ""
