from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from . import netguard, signing
from .models import Delivery, Endpoint, Event


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ["event", "status", "attempts", "response_code", "latency_ms", "error", "next_attempt_at"]
    readonly_fields = fields
    ordering = ["-id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = Endpoint
        fields = ["workspace", "url", "description", "event_types", "active"]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "workspace", "active", "failure_streak", "disabled_at"]
    list_filter = ["active"]
    fields = ["workspace", "url", "description", "event_types", "active", "failure_streak", "disabled_reason"]
    readonly_fields = ["failure_streak", "disabled_reason"]
    inlines = [DeliveryInline]

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        try:
            netguard.validate_url(obj.url)
        except netguard.RefusedURL as refused:
            messages.warning(request, f"Saved, but deliveries will fail: {refused}")
        if not change:
            obj.secret = signing.new_secret()
            obj.created_by = request.user  # type: ignore[assignment]
            messages.info(request, f"Signing secret (shown once, store it now): {obj.secret}")
        super().save_model(request, obj, form, change)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "workspace", "subject_id", "created_at"]
    list_filter = ["type"]
    readonly_fields = ["uid", "workspace", "type", "subject_id", "data", "created_at"]
