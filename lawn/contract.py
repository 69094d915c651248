"""The canonical event envelope: the columns every raw event row carries, in order."""

from __future__ import annotations

RAW_EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "event_name",
    "schema_version",
    "source",
    "occurred_at",
    "received_at",
    "anonymous_id",
    "device_id",
    "user_id",
    "account_id",
    "context",
    "properties",
)
