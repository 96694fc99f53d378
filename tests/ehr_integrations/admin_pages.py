"""Posting admin pages back as a browser would: what the page shows, changed where a test says."""

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
