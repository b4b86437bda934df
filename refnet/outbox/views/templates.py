"""Message templates: the list by purpose, the editor with its live preview.

Saving goes through outbox.compose.template_save, which runs the privacy guard: a
template that uses a variable its audience may not see is refused with the error next
to the field. The preview renders a synthetic sample, never a real partner or patient.
"""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from refnet.accounts.permissions import Cap, requires

from ..compose import template_save
from ..forms import PreviewForm, TemplateForm, add_errors
from ..models import MessageTemplate, Purpose
from ..rendering import AUDIENCE_VARIABLES, render_text, sample_context, template_check

NAV = "templates"
HISTORY_SHOWN = 10


@requires(Cap.TEMPLATES_EDIT)
@require_http_methods(["GET"])
def template_list(request: HttpRequest) -> HttpResponse:
    templates = list(MessageTemplate.objects.select_related("updated_by"))
    labels = dict(Purpose.choices)
    groups = [(labels.get(purpose, purpose), list(rows))
              for purpose, rows in groupby(templates, key=lambda t: t.purpose)]
    return render(request, "outbox/templates_list.html", {"nav": NAV, "groups": groups})


def _editor(request: HttpRequest, form: TemplateForm, template: MessageTemplate | None,
            status: int = 200) -> HttpResponse:
    audience = (template.audience if template else form["audience"].value()) or "general"
    history = (list(template.history.select_related("history_user")[:HISTORY_SHOWN])
               if template else [])
    return render(request, "outbox/template_edit.html", {
        "nav": NAV, "form": form, "template": template, "history": history,
        "variables": sorted(AUDIENCE_VARIABLES.get(audience, ())),
        "audience_variables": {a: sorted(v) for a, v in AUDIENCE_VARIABLES.items()},
    }, status=status)


def _save(request: HttpRequest, form: TemplateForm,
          template: MessageTemplate | None) -> HttpResponse:
    if not form.is_valid():
        return _editor(request, form, template, status=400)
    fields = {name: form.cleaned_data[name] for name in ("subject", "body", "is_active")}
    if template is None:
        fields.update({name: form.cleaned_data[name]
                       for name in ("purpose", "channel", "audience")})
    try:
        saved = template_save(template=form.instance, by=request.user, **fields)
    except ValidationError as exc:
        add_errors(form, exc)
        return _editor(request, form, template, status=400)
    messages.success(request, f"Saved “{saved}”.")
    return redirect("outbox:template_edit", pk=saved.pk)


@requires(Cap.TEMPLATES_EDIT)
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(MessageTemplate, pk=pk)
    if request.method == "POST":
        # The form works on a copy: a refused save must not change the row on the page.
        return _save(request, TemplateForm(request.POST, instance=MessageTemplate.objects.get(
            pk=template.pk)), template)
    return _editor(request, TemplateForm(instance=template), template)


@requires(Cap.TEMPLATES_EDIT)
@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, TemplateForm(request.POST), None)
    initial = {k: request.GET[k] for k in ("purpose", "channel", "audience") if k in request.GET}
    return _editor(request, TemplateForm(initial=initial), None)


@requires(Cap.TEMPLATES_EDIT)
@require_POST
def template_preview(request: HttpRequest) -> HttpResponse:
    """The live preview (an htmx fragment): the text as the audience would get it, rendered
    with synthetic sample values, or the guard's errors."""
    form = PreviewForm(request.POST)
    context: dict = {"form": form}
    if form.is_valid():
        data = form.cleaned_data
        try:
            template_check(subject=data["subject"], body=data["body"],
                           audience=data["audience"], channel=data["channel"])
        except ValidationError as exc:
            context["errors"] = [f"{'Subject' if f == 'subject' else 'Body'}: {m}"
                                 for f, ms in exc.message_dict.items() for m in ms]
        else:
            subject, body_text, body_html = render_text(
                subject=data["subject"], body=data["body"], audience=data["audience"],
                channel=data["channel"],
                context=sample_context(audience=data["audience"], channel=data["channel"]),
            )
            context.update({"subject": subject, "body_text": body_text,
                            "body_html": body_html, "channel": data["channel"]})
    else:
        context["errors"] = [f"{name}: {' '.join(errs)}" for name, errs in form.errors.items()]
    return render(request, "outbox/_template_preview.html", context)
