"""Integrations > HL7 subscribers: the form a manager fills in, and the log's filters."""

from __future__ import annotations

from django import forms

from .models import AckCode, HL7Subscriber


class SubscriberForm(forms.ModelForm):
    class Meta:
        model = HL7Subscriber
        fields = ["sending_application", "sending_facility", "host", "port", "enabled"]
        labels = {"sending_application": "Sending application (MSH-3)",
                  "sending_facility": "Sending facility (MSH-4)",
                  "host": "Reply host", "port": "Reply port (MLLP)",
                  "enabled": "Send RRI^I12 status replies"}
        help_texts = {
            "sending_application": "As the system writes it in MSH-3 of its REF^I12 messages.",
            "sending_facility": "Blank: any facility of that application.",
            "host": "Where the system listens for MLLP (a name or an IP address). Blank: no "
                    "replies.",
        }

    def clean(self):
        data = super().clean()
        host, port = data.get("host", "").strip(), data.get("port")
        data["host"] = host
        if host and not port:
            self.add_error("port", "Give the port the system listens on, or clear the host.")
        if port and not host:
            self.add_error("host", "Give the host the port belongs to, or clear the port.")
        if port is not None and not 1 <= port <= 65535:
            self.add_error("port", "A port is a number from 1 to 65535.")
        return data


KINDS = [("hl7", "HL7 v2 messages"), ("fhir", "FHIR requests")]
HL7_OUTCOMES = [("", "Any ACK")] + list(AckCode.choices)
FHIR_OUTCOMES = [("", "Any outcome"), ("ok", "Succeeded (2xx)"), ("refused", "Refused (4xx)"),
                 ("failed", "Server error (5xx)")]


class LogFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=KINDS, required=False, label="Show")
    ack = forms.ChoiceField(choices=HL7_OUTCOMES, required=False, label="ACK (HL7)")
    outcome = forms.ChoiceField(choices=FHIR_OUTCOMES, required=False, label="Outcome (FHIR)")
    sender = forms.CharField(required=False, max_length=180, label="Sender or API key")
    since = forms.DateField(required=False, label="From",
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To",
                            widget=forms.DateInput(attrs={"type": "date"}))
