"""Outreach pages: events (list, form, detail with invitees, RSVPs, attendance and
attribution), playbooks, and the public RSVP link. Views parse, check, call, render.

Outreach never sees patients: partners that are patient referrers are left out of the
invitee picker, and attribution shows counts only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from refnet.accounts.permissions import Cap, public, requires
from refnet.partners.models import BusinessCategory, Contact, Partner, PartnerKind

from . import selectors, services
from .forms import EventForm, InviteeForm, PickerForm, PlaybookApplyForm
from .models import Event, Invitee, Playbook, Rsvp

PAST_LIMIT = 50
PICKER_LIMIT = 100


def _ctx(**extra: Any) -> dict[str, Any]:
    return {"nav": "network", "sub": "events", **extra}


def _errors(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return " ".join(m for msgs in error.message_dict.values() for m in msgs)
    return " ".join(error.messages)


# --- Events ------------------------------------------------------------------------------


@requires(Cap.EVENTS)
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    past = list(selectors.events_past(now)[:PAST_LIMIT])
    attributions = selectors.events_attribution(past, now=now)
    rows = [(event, attributions[event.pk]) for event in past]
    spent = sum((e.cost for e in past), 0)
    attributed = sum((a.attributed for _e, a in rows), 0)
    return render(request, "outreach/events.html", _ctx(
        upcoming=list(selectors.events_upcoming(now)), past=rows, past_limit=PAST_LIMIT,
        spent=spent, attributed=attributed,
        cost_per=(spent / attributed) if attributed else None,
    ))


def _form_page(request: HttpRequest, form: EventForm, event: Event | None) -> HttpResponse:
    return render(request, "outreach/event_form.html", _ctx(form=form, event=event))


@requires(Cap.EVENTS)
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest) -> HttpResponse:
    form = EventForm(request.POST or None, initial={"owner": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_save(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Event “{event.title}” added. Now invite people.")
            return redirect("outreach:event", event.pk)
    return _form_page(request, form, None)


@requires(Cap.EVENTS)
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    stored = Event.objects.get(pk=pk)
    form = EventForm(request.POST or None, instance=event)
    if request.method == "POST" and form.is_valid():
        try:
            services.event_save(by=request.user, event=stored, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Event saved.")
            return redirect("outreach:event", pk)
    return _form_page(request, form, stored)


def _detail_context(request: HttpRequest, event: Event, **extra: Any) -> dict[str, Any]:
    now = timezone.now()
    invitees = list(selectors.event_invitees(event))
    return _ctx(
        event=event, invitees=invitees, now=now, started=event.starts_at <= now,
        over=event.ends_at <= now, attribution=selectors.event_attribution(event, now=now),
        rsvp_choices=Rsvp.choices, not_sent=sum(1 for i in invitees if not i.message_id),
        counts={"yes": sum(i.rsvp == Rsvp.YES for i in invitees),
                "no": sum(i.rsvp == Rsvp.NO for i in invitees),
                "maybe": sum(i.rsvp == Rsvp.MAYBE for i in invitees),
                "attended": sum(i.attended for i in invitees)},
        picker=PickerForm(), categories=BusinessCategory.choices, **extra,
    )


@requires(Cap.EVENTS)
@require_GET
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event.objects.select_related("owner", "location", "playbook"),
                              pk=pk)
    return render(request, "outreach/event_detail.html", _detail_context(request, event))


@requires(Cap.EVENTS)
@require_POST
def event_send(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event.objects.select_related("owner", "location"), pk=pk)
    try:
        result = services.invitations_send(event=event, by=request.user)
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect("outreach:event", pk)
    parts = [f"{len(result.queued)} invitation{'s' if len(result.queued) != 1 else ''} "
             "queued in the outbox"]
    if result.already:
        parts.append(f"{len(result.already)} already invited (not sent again)")
    messages.success(request, "; ".join(parts) + ".")
    for invitee, why in result.skipped:
        messages.warning(request, f"Not sent to {invitee.label}: {why}")
    return redirect("outreach:event", pk)


@requires(Cap.EVENTS)
@require_POST
def event_steps(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event.objects.select_related("owner", "playbook"), pk=pk)
    try:
        created = services.event_steps_schedule(event=event, by=request.user)
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, f"{created} new step{'s' if created != 1 else ''} in "
                                  f"{event.owner}'s inbox." if created else
                         "The playbook's steps were already scheduled.")
    return redirect("outreach:event", pk)


# --- Invitees ----------------------------------------------------------------------------


def _pickable(request: HttpRequest, form: PickerForm) -> list[Partner]:
    """Partners matching the picker, never patient referrers (outreach sees no patients)."""
    qs = (Partner.objects.live().exclude(kind=PartnerKind.PATIENT_REFERRER)
          .prefetch_related("contacts").order_by("name", "pk"))
    if not form.is_valid():
        return []
    data = form.cleaned_data
    if data["category"]:
        qs = qs.filter(category=data["category"])
    if data["mine"]:
        qs = qs.filter(owner=request.user)
    if data["q"].strip():
        q = data["q"].strip()
        qs = qs.filter(Q(name__icontains=q) | Q(contacts__name__icontains=q)).distinct()
    elif not (data["category"] or data["mine"]):
        return []
    return list(qs[:PICKER_LIMIT])


@requires(Cap.EVENTS)
@require_GET
def invitee_picker(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    form = PickerForm(request.GET)
    found = _pickable(request, form)
    invited = set(event.invitees.filter(contact=None).values_list("partner_id", flat=True))
    return render(request, "outreach/_picker_results.html", {
        "event": event, "found": found, "invited": invited, "limit": PICKER_LIMIT,
        "searched": any(request.GET.get(k) for k in ("q", "category", "mine")),
    })


def _ids(request: HttpRequest, name: str) -> list[int]:
    out = []
    for raw in request.POST.getlist(name):
        if not raw.strip().isdigit():
            raise ValidationError({name: f"{raw!r} is not a partner or contact number."})
        out.append(int(raw))
    return out


@requires(Cap.EVENTS)
@require_POST
def invitees_add(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    try:
        partner_ids, contact_ids = _ids(request, "partner"), _ids(request, "contact")
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect("outreach:event", pk)
    partners = list(Partner.objects.filter(pk__in=partner_ids)
                    .exclude(kind=PartnerKind.PATIENT_REFERRER))
    contacts = list(Contact.objects.filter(pk__in=contact_ids)
                    .exclude(partner__kind=PartnerKind.PATIENT_REFERRER)
                    .select_related("partner"))
    if not partners and not contacts:
        messages.error(request, "Tick the partners or people to invite.")
        return redirect("outreach:event", pk)
    added, already = services.invitees_add(event=event, by=request.user, partners=partners,
                                           contacts=contacts)
    text = f"{added} added to the guest list."
    if already:
        text += f" {already} {'was' if already == 1 else 'were'} already on it."
    messages.success(request, text)
    return redirect("outreach:event", pk)


def _invitee(event_pk: int, pk: int) -> Invitee:
    return get_object_or_404(Invitee.objects.select_related("event", "partner", "contact",
                                                            "message"),
                             pk=pk, event_id=event_pk)


@requires(Cap.EVENTS)
@require_POST
def invitee_update(request: HttpRequest, pk: int, invitee_pk: int) -> HttpResponse:
    """RSVP or attendance for one invitee; htmx gets the row back (with its error)."""
    invitee = _invitee(pk, invitee_pk)
    form = InviteeForm(request.POST)
    error = ""
    if not form.is_valid() or not (form.cleaned_data["rsvp"] or form.cleaned_data["attended"]):
        error = "Choose an answer or whether they came."
    else:
        try:
            if form.cleaned_data["rsvp"]:
                invitee = services.rsvp_record(invitee=invitee, rsvp=form.cleaned_data["rsvp"],
                                               by=request.user)
            if form.cleaned_data["attended"]:
                invitee = services.attendance_record(
                    invitee=invitee, attended=form.cleaned_data["attended"] == "yes",
                    by=request.user)
        except ValidationError as exc:
            error = _errors(exc)
    if request.htmx:
        invitee = _invitee(pk, invitee_pk)
        response = render(request, "outreach/_invitee_row.html", {
            "i": invitee, "event": invitee.event, "rsvp_choices": Rsvp.choices,
            "started": invitee.event.starts_at <= timezone.now(), "error": error})
        if not error:
            response["HX-Trigger"] = "attendance-changed"
        return response
    if error:
        messages.error(request, f"{invitee.label}: {error}")
    return redirect("outreach:event", pk)


@requires(Cap.EVENTS)
@require_POST
def invitee_remove(request: HttpRequest, pk: int, invitee_pk: int) -> HttpResponse:
    invitee = _invitee(pk, invitee_pk)
    label = invitee.label
    services.invitee_remove(invitee=invitee, by=request.user)
    messages.success(request, f"{label} taken off the guest list.")
    return redirect("outreach:event", pk)


@requires(Cap.EVENTS)
@require_GET
def event_attribution(request: HttpRequest, pk: int) -> HttpResponse:
    """The attribution card alone, refreshed by htmx after attendance changes."""
    event = get_object_or_404(Event, pk=pk)
    return render(request, "outreach/_attribution.html", {
        "event": event, "attribution": selectors.event_attribution(event)})


# --- Playbooks ---------------------------------------------------------------------------


@requires(Cap.EVENTS)
@require_GET
def playbooks(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")
    if category not in BusinessCategory.values:
        category = ""
    return render(request, "outreach/playbooks.html", _ctx(
        playbooks=list(selectors.playbooks_for(category)), category=category,
        categories=BusinessCategory.choices))


@requires(Cap.EVENTS)
@require_http_methods(["GET", "POST"])
def playbook_apply(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk, is_active=True)
    form = PlaybookApplyForm(request.POST or None, initial={
        "owner": request.user, "title": playbook.name})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            event, created = services.playbook_apply(
                playbook=playbook, by=request.user, owner=data["owner"],
                starts_at=data["starts_at"], title=data["title"], place=data["place"],
                location=data["location"], cost=data["cost"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Event “{event.title}” made from the playbook; "
                                      f"{created} steps are in {event.owner}'s inbox.")
            return redirect("outreach:event", event.pk)
    return render(request, "outreach/playbook_apply.html", _ctx(playbook=playbook,
                                                                form=form))


# --- The public RSVP link ----------------------------------------------------------------


@public
@require_http_methods(["GET", "POST"])
def rsvp(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation: the invitee answers yes, no or maybe. Shows the event's
    title, time and place only."""
    try:
        invitee = services.read_rsvp_token(token)
    except (signing.BadSignature, Invitee.DoesNotExist, KeyError, TypeError) as error:
        raise Http404("This RSVP link is not valid.") from error
    done = False
    if request.method == "POST":
        answer = request.POST.get("rsvp", "")
        if answer not in (Rsvp.YES, Rsvp.NO, Rsvp.MAYBE):
            return render(request, "outreach/rsvp.html", {
                "invitee": invitee, "event": invitee.event,
                "error": "Choose yes, no or maybe."}, status=400)
        if invitee.event.ends_at <= timezone.now():
            return render(request, "outreach/rsvp.html", {
                "invitee": invitee, "event": invitee.event,
                "error": "This event is over."}, status=400)
        invitee = services.rsvp_record(invitee=invitee, rsvp=answer, by=None)
        done = True
    return render(request, "outreach/rsvp.html", {
        "invitee": invitee, "event": invitee.event, "done": done,
        "action": reverse("outreach:rsvp", args=[token])})
