"""What each tool's answer `data` looks like: the output half of its definition (OpenAPI reads these)."""

from rest_framework import serializers

from ehr_integrations.models import Purpose


def _text(**kwargs: object) -> serializers.CharField:
    return serializers.CharField(allow_null=True, **kwargs)


class TransferShape(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)
    purpose = serializers.ChoiceField(choices=Purpose.values)


class AppointmentShape(serializers.Serializer):
    id = _text()
    datetime = _text(help_text="ISO 8601 with the health system's UTC offset")
    provider_name = _text()
    location = _text()
    status = _text()
    description = _text()
    handle = serializers.CharField(
        required=False, help_text="this call's name for it in .../appointments/{handle}/cancel and /reschedule"
    )


class MedicationShape(serializers.Serializer):
    id = _text()
    name = _text()
    status = _text()
    dosage = _text()
    prescriber_name = _text()
    refills_remaining = serializers.IntegerField(allow_null=True)
    last_filled = _text(help_text="YYYY-MM-DD")
    refill_eligible = serializers.BooleanField(allow_null=True)


class MessageShape(serializers.Serializer):
    id = _text()
    sent_at = _text()
    sender = _text()
    subject = _text()
    status = _text()


class PatientShape(serializers.Serializer):
    given_name = _text()
    family_name = _text()
    preferred_name = _text()
    phone = _text(help_text="E.164")


class RoutedShape(serializers.Serializer):
    transfer = TransferShape()
    open_now = serializers.BooleanField()
    say = serializers.CharField()


class RefillRequestShape(serializers.Serializer):
    medication_id = serializers.CharField()
    kind = serializers.ChoiceField(choices=["refill", "renewal"], help_text="renewal: no refills were left")
    route = serializers.ChoiceField(choices=["Task", "Communication", "staff_queue"])
    state = serializers.ChoiceField(choices=["sent", "queued"], help_text="queued: staff will follow up")
    reference = _text(help_text="the EHR resource written, e.g. Task/123 (read back); null when queued")


class CareTeamMessageShape(serializers.Serializer):
    topic = serializers.CharField(help_text="the topic code")
    route = serializers.ChoiceField(choices=["Communication", "Task", "staff_queue"])
    state = serializers.ChoiceField(choices=["sent", "queued"], help_text="queued: staff will follow up")
    reference = _text(help_text="the EHR resource written, e.g. Communication/123 (read back); null when queued")


class SlotOfferShape(serializers.Serializer):
    id = serializers.CharField(help_text="the offer's handle, for book_appointment (this call only)")
    datetime = serializers.CharField(help_text="ISO 8601 with the health system's UTC offset")
    provider_id = serializers.CharField(help_text="a handle for `provider=` (this call only)")
    provider_name = serializers.CharField()
    location = _text()
    visit_type = serializers.CharField()


class BookedShape(serializers.Serializer):
    id = serializers.CharField(help_text="the appointment's handle, for cancel and reschedule (this call only)")
    datetime = serializers.CharField()
    provider_name = serializers.CharField()
    location = _text()
    visit_type = serializers.CharField()
    status = serializers.ChoiceField(choices=["booked"])
    replaces = serializers.CharField(required=False, help_text="reschedule: the handle of the old appointment")
    old_status = serializers.ChoiceField(
        choices=["cancelled", "cancel_pending"], required=False, help_text="reschedule: cancel_pending: staff cancel it"
    )


class CancelledShape(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["cancelled"])
