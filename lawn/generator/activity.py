"""What people do in the product, day by day, for one account (and its subscription)."""

from __future__ import annotations

import numpy as np

from lawn.generator.action_effects import EXPERIMENT_ID, exposure_record
from lawn.generator.backend import API_RATE, api_traffic, newsletter
from lawn.generator.commercial import DAY, CommercialSim
from lawn.generator.config import PlantedActionEffects, PlantedBreach, PlantedChurnWarning
from lawn.generator.events import EventLog
from lawn.generator.programs import ROLLOUT_FEATURE, Experiment, RolloutAdoption
from lawn.generator.world import Account, Device, Person

FEATURES = {  # feature -> (category, weight in a session)
    "create_invoice": ("invoicing", 5),
    "import_clients": ("invoicing", 1),
    "payment_links": ("payments", 2),
    "reports": ("reporting", 2),
    "reminders": ("automation", 2),
    "automations": ("automation", 1),
    "integrations": ("integrations", 1),
    "comments": ("collaboration", 1),
    "smart_reminders": ("automation", 0),
}
FEATURE_NAMES = tuple(FEATURES)
FEATURE_P = np.array([FEATURES[name][1] for name in FEATURE_NAMES], dtype=float)
FEATURE_P /= FEATURE_P.sum()


class AccountSim:
    """Simulates one account from its first anonymous visit to the last day."""

    def __init__(
        self,
        account: Account,
        log: EventLog,
        rng: np.random.Generator,
        days: int,
        user_experiment: Experiment,
        account_experiment: Experiment,
        rollout: RolloutAdoption | None,
        email_rate: float,
        breach: PlantedBreach | None = None,
        srm_lost_share: float = 0.0,
        churn_warning: PlantedChurnWarning | None = None,
        action_effects: PlantedActionEffects | None = None,
    ) -> None:
        self.a, self.log, self.rng, self.days = account, log, rng, days
        self.user_exp = user_experiment
        self.rollout = rollout
        self.email_rate = email_rate
        self.breach = breach
        self.srm_lost_share = srm_lost_share
        self.churn_warning = churn_warning
        self.action_effects = action_effects
        self.exposures: list[dict] = []  # truth rows of the retention offer (when planted)
        self.commercial = CommercialSim(account, log, rng, account_experiment, churn_warning is not None)
        self.seen_devices: set[tuple[str, str]] = set()
        self.first_invoice_day: int | None = None
        self.activated_7d: dict[str, bool] = {}
        self.invites: dict[int, list[Person]] = {}
        self.pending_signups: dict[int, list[Person]] = {}
        self.resignups: dict[int, list[Person]] = {}
        self.resignup_devices: dict[str, Device] = {}

    # -- helpers -----------------------------------------------------------------------
    def t(self, day: int, mean_hour: float = 11.0) -> float:
        hour = float(np.clip(self.rng.normal(mean_hour, 2.5), 0.2, 23.5))
        return day * DAY + hour * 3600.0

    def email_text(self, email: str) -> str:
        """Clients send what users type: sometimes with capitals and stray spaces."""
        if self.rng.random() >= self.email_rate:
            return email
        local, domain = email.split("@")
        return f"  {local.title()}@{domain.upper()} " if self.rng.random() < 0.5 else email.upper()

    def identify(self, day_t: float, person: Person, device: Device, user_id: str, email: str) -> None:
        self.log.client(
            "identified",
            day_t + 2,
            self.a,
            person,
            device,
            user_id=user_id,
            properties={
                "email": self.email_text(email),
                "first_name": person.first_name.title(),
                "last_name": person.last_name.title(),
                "role": person.role,
            },
        )

    # -- the run -----------------------------------------------------------------------
    def _in_churn_warning(self, day: int) -> bool:
        """The planted disengagement: paying, set to cancel at the next renewal, and close to it."""
        sub, warning = self.commercial.sub, self.churn_warning
        if warning is None or sub.status != "paying" or not sub.cancels_at_next_cycle:
            return False
        return sub.next_cycle_day - day <= warning.days

    def run(self) -> None:
        founder = self.a.people[0]
        if not any(device.platform == "web" for device in founder.devices):
            founder.devices[0].platform, founder.devices[0].app_version = "web", "web-2026.03"
        d0 = self.a.created_day
        web = next(device for device in founder.devices if device.platform == "web")
        for _ in range(int(self.rng.integers(1, 5))):  # anonymous browsing before signup
            day = max(0, d0 - int(self.rng.integers(0, 8)))
            self.log.client(
                "page_viewed",
                self.t(day) - 7200,
                self.a,
                None,
                web,
                {
                    "page_path": str(self.rng.choice(["/", "/pricing", "/features", "/blog/invoicing-tips"])),
                    "referrer": str(
                        self.rng.choice(["https://www.google.com/", "https://news.example.org/", ""])
                    ),
                    "utm_source": self.a.channel,
                },
            )
        self.signup(d0, founder, web, method=str(self.rng.choice(["email", "google"])), invited_by=None)
        self.commercial.start_trial(d0)
        for person in self.a.people[1:]:
            invite_day = d0 + int(self.rng.integers(0, 45))
            self.invites.setdefault(invite_day, []).append(person)
        for day in range(d0, self.days):
            self.simulate_day(day)

    def signup(
        self,
        day: int,
        person: Person,
        device: Device,
        method: str,
        invited_by: str | None,
        user_id: str | None = None,
        email: str | None = None,
    ) -> None:
        uid, mail = user_id or person.user_id, email or person.email
        start = self.t(day, 10)
        props = {"email": self.email_text(mail), "signup_method": method}
        if invited_by:
            props["invited_by_user_id"] = invited_by
        self.log.client("signed_up", start, self.a, person, device, props, user_id=uid)
        self.identify(start, person, device, uid, mail)
        self.seen_devices.add((person.person_id, device.device_id))
        if user_id is None:
            person.signup_day = day
            self.assign_user_experiment(day, person, device, start)
            if person.resignup_user_id:
                self.resignups.setdefault(day + int(self.rng.integers(8, 30)), []).append(person)

    def assign_user_experiment(self, day: int, person: Person, device: Device, t: float) -> None:
        exp = self.user_exp
        base = 0.25 + 0.45 * person.activity
        if exp.is_running(day):
            variant = exp.variant(person.user_id)
            lost = (
                variant == "treatment" and self.srm_lost_share > 0 and self.rng.random() < self.srm_lost_share
            )
            if not lost:
                self.log.client(
                    "experiment_exposed",
                    t + 30,
                    self.a,
                    person,
                    device,
                    {"experiment_id": exp.experiment_id, "variant": variant},
                )
            if variant == "treatment":
                base += exp.true_effect
        if self.breach is not None and self.breach.applies(device.platform, day):
            base *= self.breach.activation_factor
        self.activated_7d[person.person_id] = bool(self.rng.random() < base)

    def expose_account_experiment(self, day: int) -> None:
        """The account-level test shows its nudge to the founder on the last trial morning."""
        experiment = self.commercial.experiment
        if not experiment.is_running(self.a.created_day):
            return
        founder = self.a.people[0]
        device = next(device for device in founder.devices if device.platform == "web")
        self.log.client(
            "experiment_exposed",
            day * DAY + 7 * 3600,
            self.a,
            founder,
            device,
            {"experiment_id": experiment.experiment_id, "variant": experiment.variant(self.a.account_id)},
        )

    def offer_retention(self, day: int) -> None:
        """The randomised retention offer, ``lead_days`` before a renewal inside the period."""
        plant, sub = self.action_effects, self.commercial.sub
        if plant is None or sub.status != "paying" or day != sub.next_cycle_day - plant.lead_days:
            return
        if not plant.start_day <= day <= plant.last_day(self.days):
            return
        active = sum(p.signup_day is not None and p.signup_day <= day for p in self.a.people)
        record = exposure_record(
            plant, self.a.account_id, self.a.segment, active, self.a.health, day, sub.next_cycle_day,
            self.commercial.churn_probability(),
        )  # fmt: skip
        self.exposures.append(record)
        self.commercial.exposure = record
        self.commercial.next_churn_multiplier = record["applied_multiplier"]
        founder = self.a.people[0]
        device = next(device for device in founder.devices if device.platform == "web")
        self.log.client(
            "experiment_exposed",
            day * DAY + 9 * 3600,
            self.a,
            founder,
            device,
            {"experiment_id": EXPERIMENT_ID, "variant": record["variant"]},
        )

    def simulate_day(self, day: int) -> None:
        sub = self.commercial.sub
        for person in self.invites.pop(day, []):
            founder = self.a.people[0]
            self.log.client(
                "teammate_invited",
                self.t(day),
                self.a,
                founder,
                founder.devices[0],
                {
                    "invitee_email": person.email,
                    "invitee_role": person.role if person.role != "owner" else "admin",
                },
            )
            self.pending_signups.setdefault(day + int(self.rng.integers(0, 4)), []).append(person)
        for person in self.pending_signups.pop(day, []):
            self.signup(day, person, person.devices[0], "invitation", self.a.people[0].user_id)
        for person in self.resignups.pop(day, []):
            device = Device(
                f"dev_r{person.person_id[4:]}",
                "web",
                f"anon_r{person.person_id[4:]}",
                "web-2026.03",
                [person.person_id],
            )
            person.devices.append(device)
            self.resignup_devices[person.person_id] = device
            self.signup(day, person, device, "email", None, person.resignup_user_id, person.resignup_email)
        if self.action_effects is not None:
            self.offer_retention(day)
        if sub.status == "trial" and day == sub.trial_end_day:
            self.expose_account_experiment(day)
            activated = self.first_invoice_day is not None
            self.commercial.end_trial(day, activated, sum(p.signup_day is not None for p in self.a.people))
        elif sub.status in ("paying", "churned") and day == sub.next_cycle_day:
            self.commercial.monthly_cycle(day, sum(p.signup_day is not None for p in self.a.people))
        level = {"trial": 1.0, "paying": 1.0, "expired": 0.12, "churned": 0.08}.get(sub.status, 0.0)
        if self._in_churn_warning(day):
            level *= self.churn_warning.activity_factor  # type: ignore[union-attr]
        weekday = (self.log.start.weekday() + day) % 7
        for person in self.a.people:
            if person.signup_day is None or person.signup_day > day:
                continue
            p_active = (0.12 + 0.6 * person.activity * self.a.health) * level * (0.3 if weekday >= 5 else 1.0)
            if day == person.signup_day or self.rng.random() < p_active:
                self.session(day, person)
            if weekday == 1 and self.rng.random() < 0.9:
                newsletter(self.log, self.rng, self.a, day, person)
        if sub.status == "paying" and sub.plan in API_RATE:
            api_traffic(self.log, self.rng, self.a, day, sub.plan)
        if self.rollout and day == self.rollout.adoption_day:
            self.log.server(
                "feature_enabled",
                self.t(day, 7),
                self.a,
                None,
                {"feature_name": ROLLOUT_FEATURE, "enabled_by": "rollout"},
            )
        if sub.status in ("trial", "paying") and self.rng.random() < 0.006 * len(self.a.people):
            person = self.a.people[int(self.rng.integers(len(self.a.people)))]
            if person.signup_day is not None and person.signup_day <= day:
                self.log.client(
                    "support_ticket_created",
                    self.t(day),
                    self.a,
                    person,
                    person.devices[0],
                    {
                        "ticket_id": f"tkt_{self.log.emitted:08d}",
                        "priority": str(
                            self.rng.choice(["low", "normal", "high", "urgent"], p=[0.3, 0.5, 0.15, 0.05])
                        ),
                        "topic": str(
                            self.rng.choice(["billing", "bug", "how_to", "feature_request", "account"])
                        ),
                    },
                )

    def session(self, day: int, person: Person) -> None:
        device = person.devices[int(self.rng.integers(len(person.devices)))]
        uid = person.user_id
        if person.person_id in self.resignup_devices and self.rng.random() < 0.15:
            device, uid = self.resignup_devices[person.person_id], person.resignup_user_id
        start = self.t(day)
        if (person.person_id, device.device_id) not in self.seen_devices or self.rng.random() < 0.3:
            self.log.client(
                "logged_in",
                start,
                self.a,
                person,
                device,
                user_id=uid,
                properties={
                    "login_method": str(self.rng.choice(["password", "google", "sso", "magic_link"]))
                },
            )
            if (person.person_id, device.device_id) not in self.seen_devices:
                self.identify(start, person, device, uid, person.email)
                self.seen_devices.add((person.person_id, device.device_id))
        days_in = day - (person.signup_day or day)
        in_first_week = days_in < 7
        activated = self.activated_7d.get(person.person_id, True)
        for k in range(1 + int(self.rng.poisson(1.5))):
            feature = FEATURE_NAMES[int(self.rng.choice(len(FEATURE_NAMES), p=FEATURE_P))]
            if feature == "create_invoice" and in_first_week and not activated:
                feature = "reports"
            self.feature_used(day, start + 60 * (k + 1), person, device, uid, feature)
        if in_first_week and activated and days_in == 0:
            self.feature_used(day, start + 30, person, device, uid, "create_invoice")
        if days_in == 0 and person.is_founder and self.rng.random() < 0.7:
            self.log.client(
                "milestone_reached",
                start + 900,
                self.a,
                person,
                device,
                user_id=uid,
                properties={
                    "milestone_name": "first_import",
                    "records_imported": int(self.rng.integers(5, 4000)),
                },
            )
        if device.platform != "web" and self.rng.random() < 0.15:
            self.log.client(
                "notification_clicked",
                start - 5,
                self.a,
                person,
                device,
                user_id=uid,
                properties={
                    "notification_type": str(
                        self.rng.choice(["reminder", "payment_received", "mention", "system"])
                    )
                },
            )
        if self.rng.random() < 0.03:
            code = str(self.rng.choice(["E_TIMEOUT", "E_VALIDATION", "E_UPLOAD"]))
            self.log.client(
                "error_occurred",
                start + 400,
                self.a,
                person,
                device,
                user_id=uid,
                error_code=code,
                properties={"error_code": code, "severity": str(self.rng.choice(["warning", "error"]))},
            )
        if days_in > 0 and days_in % 30 == 0 and self.rng.random() < 0.5:
            score = int(np.clip(round(self.rng.normal(3.5 + 6 * self.a.health, 1.8)), 0, 10))
            self.log.client(
                "nps_submitted", start + 500, self.a, person, device, user_id=uid, properties={"score": score}
            )

    def feature_used(
        self, day: int, t: float, person: Person, device: Device, uid: str, feature: str
    ) -> None:
        mean = 1.5
        if feature == "create_invoice":
            mean = 2.0 * (1 + 0.002 * day)  # a common upward trend every account shares
            if self.rollout and day >= self.rollout.adoption_day:
                mean *= 1 + self.rollout.true_lift
        count = 1 + int(self.rng.poisson(mean))
        legacy_app = device.platform != "web" and device.app_version.startswith("2.")
        props: dict = {"feature_name": feature, "usage_count": count}
        if not legacy_app:
            props["feature_category"] = FEATURES[feature][0]
            props["duration_seconds"] = round(float(self.rng.lognormal(4, 1)), 1)
        self.log.client(
            "feature_used",
            t,
            self.a,
            person,
            device,
            props,
            version=1 if legacy_app else 2,
            user_id=uid,
            latency_ms=float(self.rng.lognormal(4.5, 0.5)),
        )
        if feature == "create_invoice" and self.first_invoice_day is None:
            self.first_invoice_day = day
            self.log.client(
                "first_invoice_sent",
                t + 120,
                self.a,
                person,
                device,
                user_id=uid,
                properties={
                    "invoice_id": f"cinv_{self.a.account_id[4:]}_0001",
                    "amount_usd": round(float(self.rng.lognormal(6, 1)), 2),
                    "currency": "USD",
                },
            )
