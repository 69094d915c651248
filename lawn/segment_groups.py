"""Accounts from Segment `group()` calls, for messages that name none themselves.

In a B2B app the account is usually stated once, by `group(groupId)` after sign-up or log-in,
and the user's tracks carry no `context.groupId` (analytics.js and the server libraries do
not add it). Mapping each message alone would leave every track without an account, and every
account metric empty. So a message of a user with no account of its own takes the group of
that user's latest `group()` call at or before the message's time; a message with a userId
from before the user's first group call (the sign-up that created the account) takes that
first group. A message with an anonymousId only takes a group call of that anonymousId at or
before its time, never a later one: a visitor is not in the account before they join it. Ids
are compared as identity compares them (normal form: `Usr_42` is `usr_42`), and a null marker
or blocked id (`undefined`, `null`: docs/identity.md) is no sender, so it never carries a group
from one browser to another.
Times are Segment's `timestamp` (else `originalTimestamp`), as the envelope's occurred_at; a
message without a readable time takes the user's first group (with a userId) or none.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lawn.contract import blocked_values
from lawn.privacy_maps import normalize

# before every readable time: a group call without a readable time counts as the earliest
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


def instant(value: Any) -> dt.datetime | None:
    """An ISO 8601 time as an aware UTC datetime (no offset: UTC); None when unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def message_time(message: dict) -> dt.datetime | None:
    return instant(message.get("timestamp") or message.get("originalTimestamp"))


def _text(value: Any) -> str | None:
    if value in (None, "") or isinstance(value, (dict, list, bool)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def sender_key(value: Any, identifier_type: str) -> str | None:
    """A userId or anonymousId as identity compares it (its normal form: `Usr_42` is
    `usr_42`); None when missing, a null marker or otherwise blocked."""
    text = _text(value)
    if text is None:
        return None
    key = normalize(text)
    blocked = blocked_values(identifier_type)  # null markers and shared test ids alike
    return None if not key or key in blocked or text.lower() in blocked else key


@dataclass
class Memberships:
    """Each id's group calls in time order: (time, groupId)."""

    by_user: dict[str, list[tuple[dt.datetime, str]]] = field(default_factory=dict)
    by_anonymous: dict[str, list[tuple[dt.datetime, str]]] = field(default_factory=dict)

    def add(self, message: dict) -> None:
        group = _text(message.get("groupId"))
        if group is None:
            return
        moment = message_time(message) or _EARLIEST
        for ids, key in (
            (self.by_user, sender_key(message.get("userId"), "user_id")),
            (self.by_anonymous, sender_key(message.get("anonymousId"), "anonymous_id")),
        ):
            if key is not None:
                bisect.insort(ids.setdefault(key, []), (moment, group))

    def account_of(self, message: dict) -> str | None:
        """The group a message without an account of its own belongs to (module docstring)."""
        moment = message_time(message)
        user = sender_key(message.get("userId"), "user_id")
        if user is not None:
            calls = self.by_user.get(user)
            return _at_or_before(calls, moment, backfill=True) if calls else None
        anonymous = sender_key(message.get("anonymousId"), "anonymous_id")
        if anonymous is not None and anonymous in self.by_anonymous:
            return _at_or_before(self.by_anonymous[anonymous], moment, backfill=False)
        return None


Calls = list[tuple[dt.datetime, str]]


def _at_or_before(calls: Calls, moment: dt.datetime | None, backfill: bool) -> str | None:
    if moment is None:
        return calls[0][1] if backfill else None
    # the last call at or before the moment (a call at the same instant counts: bisect_right)
    position = bisect.bisect_right([when for when, _group in calls], moment)
    if position:
        return calls[position - 1][1]
    return calls[0][1] if backfill else None


def memberships(messages: Iterable[dict | None]) -> Memberships:
    """The group calls of an export's messages (other messages and unreadable lines skipped)."""
    found = Memberships()
    for message in messages:
        if isinstance(message, dict) and str(message.get("type") or "").lower() == "group":
            found.add(message)
    return found
