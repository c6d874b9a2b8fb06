from __future__ import annotations

from rest_framework import serializers

from ..models import EVENT_TYPES, Delivery, Endpoint


class EndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        help_text="Event types sent to this URL; empty means all.",
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "workspace",
            "url",
            "description",
            "event_types",
            "active",
            "failure_streak",
            "disabled_at",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.CharField(
        help_text="Signs every request (KB-Signature). Shown only in this response: store it now."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointCreateSerializer(serializers.Serializer):
    workspace = serializers.IntegerField()
    url = serializers.URLField(max_length=500)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, default=list, max_length=50
    )
    active = serializers.BooleanField(required=False, default=True)


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, max_length=50
    )
    active = serializers.BooleanField(required=False, help_text="true also re-enables a disabled endpoint.")


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.public_id", help_text="Stable: the same on every retry.")
    event_type = serializers.CharField(source="event.type")
    sequence = serializers.IntegerField(source="event_id", help_text="The event's place in the outbox.")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "sequence",
            "status",
            "attempts",
            "response_code",
            "latency_ms",
            "error",
            "next_attempt_at",
            "last_attempt_at",
            "created_at",
        ]
        read_only_fields = fields
