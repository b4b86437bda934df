from django.contrib import admin

from .models import HL7Message, HL7Outgoing, HL7Subscriber


@admin.register(HL7Subscriber)
class HL7SubscriberAdmin(admin.ModelAdmin):
    list_display = ("sending_application", "sending_facility", "host", "port", "enabled")


@admin.register(HL7Message)
class HL7MessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "channel", "sending_application", "sending_facility",
                    "control_id", "ack_code", "duplicate", "referral")
    list_filter = ("ack_code", "channel")
    # The message text names a patient: it is read on Integrations, where each view is
    # audited, never here.
    exclude = ("raw", "ack")
    readonly_fields = [f.name for f in HL7Message._meta.fields if f.name not in ("raw", "ack")]


@admin.register(HL7Outgoing)
class HL7OutgoingAdmin(admin.ModelAdmin):
    list_display = ("created_at", "control_id", "host", "port", "status", "attempts",
                    "sent_at", "ack_code")
    list_filter = ("status",)
