"""Who may do what: one table of capabilities by role.

Every view declares the capability it needs with @requires(...); the
RoleRequiredMiddleware refuses any view that declares nothing (deny by default), so a
new view cannot be reachable by accident.
"""

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from .models import Role


class Cap(StrEnum):
    INTAKE = "intake"  # record referrals at the front desk, create sources inline
    PATIENTS_VIEW = "patients.view"  # see patient identity (PHI)
    CLINICAL_VIEW = "clinical.view"  # see reason, diagnosis, notes on the patient
    REFERRALS_VIEW = "referrals.view"
    REFERRALS_WORK = "referrals.work"  # move referrals through the pipeline, resolve sources
    # Remove a referral entered by mistake (duplicate, wrong patient, test) with a reason,
    # restore it; see removed referrals. Coordinators ask a manager.
    REFERRALS_REMOVE = "referrals.remove"
    PARTNERS_VIEW = "partners.view"
    PARTNERS_EDIT = "partners.edit"
    PARTNERS_MERGE = "partners.merge"
    PARTNERS_REMOVE = "partners.remove"  # remove / restore a partner; see removed and merged
    FOLLOWUPS = "followups"  # work one's own inbox of follow-ups
    FOLLOWUPS_ALL = "followups.all"  # see and reassign everyone's follow-ups
    RULES_EDIT = "rules.edit"  # follow-up rules and per-partner overrides
    TEMPLATES_EDIT = "templates.edit"
    MESSAGES_SEND = "messages.send"  # compose and queue a message to a partner
    OUTBOX_VIEW = "outbox.view"
    OUTBOX_MANAGE = "outbox.manage"  # resend, cancel, print the letters batch
    REPORTS_VIEW = "reports.view"  # the dashboard and reports (aggregates)
    REPORTS_PATIENT_ROWS = "reports.patient_rows"  # export the patient-level rows behind one
    PIPELINE = "pipeline"  # the fit scorecard and the pipeline board
    FIT_WEIGHTS_EDIT = "fit.weights"  # the scorecard's weights
    REGISTRY_IMPORT = "registry.import"  # load NPPES / NUCC / ZIP files
    FINDER = "finder"  # the complementary-practice finder; add prospects from it
    EVENTS = "events"  # outreach events, playbooks, invitations
    UPDATES_SEND = "updates.send"  # compose and send updates to partners
    REWARDS_LOG = "rewards.log"  # log appreciation, issue rewards within caps
    REWARDS_OVERRIDE = "rewards.override"  # issue over a cap, with a reason
    COMPLIANCE_EDIT = "compliance.edit"  # caps table, referral-program sign-off
    PLAN_EDIT = "plan.edit"  # the growth plan
    IMPORT_RUN = "import.run"  # CSV/XLSX imports of partners and referrals
    API_KEYS = "api.keys"  # create and revoke API keys
    INTEGRATIONS = "integrations"  # HL7 subscribers; the HL7/FHIR message log (PHI)
    AUDIT_VIEW = "audit.view"  # browse and export the audit log of patient data
    PATIENT_EXPORT = "patient.export"  # export one patient's whole record (right of access)
    ADMIN = "admin"


_ALL = set(Role)
CAPABILITIES: dict[Cap, set[Role]] = {
    Cap.INTAKE: {Role.FRONT_DESK, Role.COORDINATOR, Role.MANAGER, Role.ADMIN},
    Cap.PATIENTS_VIEW: {Role.FRONT_DESK, Role.COORDINATOR, Role.MANAGER, Role.ADMIN},
    Cap.CLINICAL_VIEW: {Role.FRONT_DESK, Role.COORDINATOR, Role.MANAGER, Role.ADMIN},
    Cap.REFERRALS_VIEW: {Role.FRONT_DESK, Role.COORDINATOR, Role.MANAGER, Role.ADMIN},
    Cap.REFERRALS_WORK: {Role.COORDINATOR, Role.MANAGER, Role.ADMIN},
    Cap.REFERRALS_REMOVE: {Role.MANAGER, Role.ADMIN},
    Cap.PARTNERS_VIEW: _ALL,
    Cap.PARTNERS_EDIT: {Role.COORDINATOR, Role.OUTREACH, Role.MANAGER, Role.ADMIN},
    Cap.PARTNERS_MERGE: {Role.OUTREACH, Role.MANAGER, Role.ADMIN},
    Cap.PARTNERS_REMOVE: {Role.MANAGER, Role.ADMIN},
    Cap.FOLLOWUPS: _ALL,
    Cap.FOLLOWUPS_ALL: {Role.MANAGER, Role.ADMIN},
    Cap.RULES_EDIT: {Role.MANAGER, Role.ADMIN},
    Cap.TEMPLATES_EDIT: {Role.MANAGER, Role.ADMIN},
    Cap.MESSAGES_SEND: _ALL,
    Cap.OUTBOX_VIEW: {Role.COORDINATOR, Role.OUTREACH, Role.MANAGER, Role.ADMIN},
    Cap.OUTBOX_MANAGE: {Role.COORDINATOR, Role.MANAGER, Role.ADMIN},
    Cap.REPORTS_VIEW: {Role.COORDINATOR, Role.OUTREACH, Role.MANAGER, Role.ADMIN},
    Cap.REPORTS_PATIENT_ROWS: {Role.COORDINATOR, Role.MANAGER, Role.ADMIN},
    Cap.PIPELINE: {Role.COORDINATOR, Role.OUTREACH, Role.MANAGER, Role.ADMIN},
    Cap.FIT_WEIGHTS_EDIT: {Role.MANAGER, Role.ADMIN},
    Cap.REGISTRY_IMPORT: {Role.MANAGER, Role.ADMIN},
    Cap.FINDER: {Role.OUTREACH, Role.MANAGER, Role.ADMIN},
    Cap.EVENTS: {Role.OUTREACH, Role.MANAGER, Role.ADMIN},
    Cap.UPDATES_SEND: {Role.OUTREACH, Role.MANAGER, Role.ADMIN},
    Cap.REWARDS_LOG: {Role.COORDINATOR, Role.OUTREACH, Role.MANAGER, Role.ADMIN},
    Cap.REWARDS_OVERRIDE: {Role.MANAGER, Role.ADMIN},
    Cap.COMPLIANCE_EDIT: {Role.MANAGER, Role.ADMIN},
    Cap.PLAN_EDIT: {Role.MANAGER, Role.ADMIN},
    Cap.IMPORT_RUN: {Role.COORDINATOR, Role.MANAGER, Role.ADMIN},
    Cap.API_KEYS: {Role.ADMIN},
    # The message log shows raw HL7 messages and FHIR bodies (PHI): only roles that may
    # see patients (test_permission_matrix checks it).
    Cap.INTEGRATIONS: {Role.MANAGER, Role.ADMIN},
    Cap.AUDIT_VIEW: {Role.ADMIN},
    Cap.PATIENT_EXPORT: {Role.COORDINATOR, Role.MANAGER, Role.ADMIN},
    Cap.ADMIN: {Role.ADMIN},
}


def has_cap(user: Any, cap: Cap) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.role in CAPABILITIES[cap]


def requires(cap: Cap) -> Callable:
    """Mark a view with the capability it needs; the middleware enforces it."""

    def mark(view: Callable) -> Callable:
        view.refnet_capability = cap  # type: ignore[attr-defined]
        return view

    return mark


def public(view: Callable) -> Callable:
    """Mark a view that anyone may open (the login page, the health check)."""
    view.refnet_public = True  # type: ignore[attr-defined]
    return view
