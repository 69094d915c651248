"""What backend services send on their own: newsletters and public-API traffic."""

from __future__ import annotations

import numpy as np

from lawn.generator.commercial import DAY
from lawn.generator.events import EventLog
from lawn.generator.world import Account, Person

ENDPOINTS = ("/v1/invoices", "/v1/clients", "/v1/payments", "/v1/reports")
API_RATE = {"growth": 2.5, "enterprise": 8.0}
API_LIMIT_PER_DAY = {"growth": 6, "enterprise": 15}


def newsletter(log: EventLog, rng: np.random.Generator, account: Account, day: int, person: Person) -> None:
    """The weekly newsletter: delivered to every user, opened by the engaged ones."""
    campaign = f"cmp_news_{day:04d}"
    t = day * DAY + 8 * 3600 + float(rng.uniform(0, 600))
    log.server(
        "email_delivered",
        t,
        account,
        person.user_id,
        {"campaign_id": campaign, "email_type": "newsletter"},
    )
    if rng.random() < 0.2 + 0.35 * person.activity:
        log.server(
            "email_opened",
            t + float(rng.uniform(600, 30000)),
            account,
            person.user_id,
            {"campaign_id": campaign, "email_type": "newsletter"},
        )


def api_traffic(log: EventLog, rng: np.random.Generator, account: Account, day: int, plan: str) -> None:
    """Public-API calls of a paying account; calls past the daily limit are rate limited."""
    calls = int(rng.poisson(API_RATE[plan]))
    owner = account.people[0].user_id
    for n in range(calls):
        t = day * DAY + float(rng.uniform(0, DAY - 1))
        endpoint = ENDPOINTS[int(rng.integers(len(ENDPOINTS)))]
        if n >= API_LIMIT_PER_DAY[plan]:
            log.server(
                "rate_limited",
                t,
                account,
                owner,
                {"endpoint": endpoint, "limit_per_minute": 60, "retry_after_seconds": 30},
            )
            continue
        status = int(rng.choice([200, 201, 400, 404, 500], p=[0.8, 0.14, 0.03, 0.02, 0.01]))
        log.server(
            "api_request",
            t,
            account,
            owner,
            {
                "endpoint": endpoint,
                "http_method": "POST" if status == 201 else "GET",
                "status_code": status,
                "latency_ms": round(float(rng.lognormal(4.8, 0.6)), 1),
            },
        )
