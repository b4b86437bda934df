"""OperationOutcome: how the FHIR endpoints say what is wrong and where.

Every refusal carries one issue per problem found, each with a FHIRPath-style
`expression` naming the element (e.g. "ServiceRequest.reasonCode[0].coding[0].code"), so a
sending system's log says which field to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    diagnostics: str
    expression: str = ""
    code: str = "invalid"  # http://hl7.org/fhir/issue-type
    severity: str = "error"

    def as_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"severity": self.severity, "code": self.code,
                               "diagnostics": self.diagnostics}
        if self.expression:
            row["expression"] = [self.expression]
        return row


class FhirError(Exception):
    """A refusal: the HTTP status and the issues that explain it."""

    def __init__(self, status: int, issues: Sequence[Issue]):
        super().__init__("; ".join(i.diagnostics for i in issues))
        self.status = status
        self.issues = list(issues)


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.as_json() for i in issues]}


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def expression_from_loc(root: str, loc: Sequence[Any]) -> str:
    """A pydantic error location as a FHIRPath: ("contained", 0, "birthDate") ->
    "ServiceRequest.contained[0].birthDate". Validator-internal steps ("root",
    "function-after[...]") are left out."""
    path = root
    for step in loc:
        if isinstance(step, int):
            path += f"[{step}]"
        elif isinstance(step, str) and _NAME.match(step) and step != "root":
            name = "resourceType" if step == "resource_type" else step
            if name.endswith("__ext"):  # the library's name for a primitive's extension
                name = "_" + name[:-5]
            path += "." + name
    return path


def pydantic_issues(root: str, errors: Iterable[dict[str, Any]]) -> list[Issue]:
    issues = []
    for error in errors:
        message = str(error.get("msg", "invalid value")).strip()
        if error.get("type") == "extra_forbidden":
            message = "Unknown element (not part of this FHIR R4 resource)."
        elif error.get("type") == "missing":
            message = "Required element is missing."
        issues.append(Issue(message[:500], expression_from_loc(root, error.get("loc", ())),
                            code="required" if error.get("type") == "missing" else "structure"))
    return issues
