"""Form widgets shared by the apps."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe


def _attrs_html(attrs: dict[str, Any]) -> str:
    """As django/forms/widgets/attrs.html: False leaves the attribute out, True writes its
    bare name."""
    return "".join(
        f" {name}" if value is True else format_html(' {}="{}"', name, value)
        for name, value in attrs.items() if value is not False
    )


class Select(forms.Select):
    """forms.Select with the same HTML, written in Python rather than by a template include
    per option: a filter bar's selects (statuses, locations, the staff as owners) cost ~40 µs
    an option that way, several milliseconds on the busiest list pages."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: Any = None) -> SafeString:
        # What get_context() and optgroups() would give the template, without building a
        # context dictionary per option (~10 µs each: a staff list of 100 owners is 1 ms).
        values = self.format_value(value)
        final_attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            final_attrs["multiple"] = True
        html = [format_html('<select name="{}"', name), _attrs_html(final_attrs), ">"]
        has_selected = False
        for option_value, option_label in self.choices:
            if option_value is None:
                option_value = ""
            if isinstance(option_label, (list, tuple)):
                group_name, choices = option_value, option_label
            else:
                group_name, choices = None, [(option_value, option_label)]
            if group_name:
                html.append(format_html('\n  <optgroup label="{}">', group_name))
            for subvalue, sublabel in choices:
                selected = ((not has_selected or self.allow_multiple_selected)
                            and str(subvalue) in values)
                has_selected |= selected
                # "\n" after each: the option template's last line
                html += ['\n  <option value="', conditional_escape(subvalue), '"',
                         " selected" if selected else "", ">", conditional_escape(sublabel),
                         "</option>\n"]
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return mark_safe("".join(html))  # noqa: S308 - every piece above is escaped
