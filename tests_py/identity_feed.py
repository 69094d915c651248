"""An independent labelled identity feed: a few hundred B2B accounts whose people behave
the way real users and real SDKs do, written from the raw envelope and the tracking plan
only (it does not use lawn.generator), with the true person behind every user_id.

Habits, at rates chosen to be realistic for a B2B product rather than convenient:
- company email conventions (first.last, flast, first, first_last, firstl); names drawn
  from 58 first and 60 last names (so namesakes also happen by chance), plus one planted
  namesake in about a third of the larger accounts (5% per person, at most one per
  account); the second person gets what IT gives them: a middle initial, the initial
  instead of the first name, or a number;
- re-signups (7% of non-founders): the old user_id goes quiet before the new one appears
  (85%), is seen once more (10%) or keeps being used on another device (5%); the new
  signup uses the same address (35%), the same address with a tab, NBSP, zero-width space,
  trailing space, capitals, `mailto:` or angle brackets (30%), a typo (25%) or a +tag (10%);
- team mailboxes (6% of accounts): two to four colleagues sign up with team@ / office@ /
  ... and work at the same time, one of them sometimes with a tab in the address;
  in 2% of accounts a successor takes over a departed colleague's role mailbox;
- traits: names sent on identify for 92% of users, in whatever case the client had;
- junk: 3% of people have an integration that sends user_id 'nan', 'N/A', 'undefined',
  'null', 'None', '0', '-', '[object Object]', '#N/A', '(null)' or 'NaN' from their browser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FIRST_NAMES = (
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "david",
    "elizabeth", "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas",
    "sarah", "daniel", "karen", "matthew", "lisa", "anthony", "nancy", "mark", "sandra",
    "maria", "ana", "jose", "luis", "carlos", "sofia", "lucas", "emma", "noah", "olivia",
    "liam", "mia", "wei", "li", "priya", "arjun", "fatima", "omar", "anna", "jan", "eva",
    "tom", "kate", "sam", "alex", "chris", "lena", "paul", "nina", "max", "ida", "leo",
)  # fmt: skip
LAST_NAMES = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
    "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson",
    "thomas", "taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white",
    "harris", "clark", "lewis", "robinson", "walker", "young", "king", "wright", "scott",
    "nguyen", "kim", "chen", "wang", "li", "singh", "patel", "khan", "ali", "muller",
    "schmidt", "schneider", "fischer", "weber", "meyer", "rossi", "russo", "bianchi",
    "dubois", "moreau", "silva", "santos", "costa", "novak", "kowalski", "berg", "ross",
)  # fmt: skip
CONVENTIONS = ("first.last", "flast", "first", "first_last", "firstl")
CONVENTION_SHARE = (0.55, 0.15, 0.10, 0.10, 0.10)
TEAM_BOXES = ("team", "office", "info", "admin", "billing", "hello")
JUNK_USER_IDS = (
    "nan",
    "N/A",
    "undefined",
    "null",
    "None",
    "0",
    "-",
    "[object Object]",
    "#N/A",
    "(null)",
    "NaN",
)
FEATURES = ("create_invoice", "reports", "reminders", "payment_links", "automations")
START = pd.Timestamp("2026-03-02", tz="UTC")
DAYS = 84


@dataclass
class User:
    user_id: str
    person: str
    account_id: str
    email: str
    first_name: str | None
    last_name: str | None
    devices: list[tuple[str, str]]
    first_day: int
    active_days: list[int] = field(default_factory=list)


class FeedBuilder:
    def __init__(self, accounts: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.accounts = accounts
        self.users: list[User] = []
        self.events: list[dict] = []
        self.account_rows: list[dict] = []
        self.junk_devices: list[tuple[User, tuple[str, str]]] = []
        self.serial = 0

    def uid(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial:06d}{self.rng.integers(16**4):04x}"

    def pick(self, options, p=None):
        return options[int(self.rng.choice(len(options), p=p))]

    def device(self) -> tuple[str, str]:
        return self.uid("anon-"), self.uid("dev-")

    def local_part(self, first: str, last: str, convention: str) -> str:
        return {
            "first.last": f"{first}.{last}",
            "flast": f"{first[0]}{last}",
            "first": first,
            "first_last": f"{first}_{last}",
            "firstl": f"{first}{last[0]}",
        }[convention]

    def second_local_part(self, first: str, last: str, convention: str, taken: set[str]) -> str:
        """What IT gives a second person whose usual address is taken."""
        separator = "_" if convention == "first_last" else "."
        middle = self.pick("abcdefghjklmnoprstw")
        options = [
            f"{first}{separator}{middle}{separator}{last}",
            f"{first[0]}{separator}{last}",
            f"{self.local_part(first, last, convention)}{int(self.rng.integers(2, 10))}",
        ]
        for _ in range(10):
            candidate = self.pick(options, p=(0.4, 0.3, 0.3))
            if candidate not in taken:
                return candidate
        return f"{self.local_part(first, last, convention)}{len(taken) + 10}"

    def activity(self, first_day: int, last_day: int) -> list[int]:
        """Active days between signup and last_day: churners stop within ten days."""
        if self.rng.random() < 0.3:
            last_day = min(last_day, first_day + int(self.rng.integers(1, 10)))
        rate = float(self.rng.uniform(0.1, 0.5))
        days = [first_day] + [d for d in range(first_day + 1, last_day + 1) if self.rng.random() < rate]
        return days

    def add_user(self, user: User, signup_email: str | None = None) -> None:
        self.users.append(user)
        anon, dev = user.devices[0]
        at = START + pd.Timedelta(days=user.first_day, hours=int(self.rng.integers(7, 18)))
        self.emit(
            "signed_up",
            at,
            user,
            (anon, dev),
            {"email": signup_email or user.email, "signup_method": "email"},
        )
        traits: dict = {"email": signup_email or user.email}
        if user.first_name is not None:
            traits |= {"first_name": self.cased(user.first_name), "last_name": self.cased(user.last_name)}
        self.emit("identified", at + pd.Timedelta(seconds=3), user, (anon, dev), traits)
        for day in user.active_days[1:]:
            device = user.devices[int(self.rng.integers(len(user.devices)))]
            at = START + pd.Timedelta(days=day, hours=int(self.rng.integers(7, 19)))
            feature = self.pick(FEATURES)
            self.emit("feature_used", at, user, device, {"feature_name": feature, "usage_count": 1})

    def cased(self, name: str | None) -> str | None:
        if name is None:
            return None
        return self.pick([name.title(), name, name.upper()], p=(0.8, 0.15, 0.05))

    def emit(self, name: str, at: pd.Timestamp, user: User, device, properties: dict, user_id=None) -> None:
        self.events.append(
            {
                "event_id": self.uid("evt-"),
                "event_name": name,
                "schema_version": "1",
                "source": "web",
                "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "received_at": (at + pd.Timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "anonymous_id": device[0],
                "device_id": device[1],
                "user_id": user.user_id if user_id is None else user_id,
                "account_id": user.account_id,
                "context": "",
                "properties": json.dumps(properties),
            }
        )

    def dirty_email(self, email: str) -> str:
        local, domain = email.split("@")
        return self.pick(
            [
                f"{email}\t",
                f"{email}\u00a0",
                f"\u200b{email}",
                f"{email} ",
                f"{local.title()}@{domain.upper()}",
                f"mailto:{email}",
                f"<{email}>",
            ]
        )

    def typo(self, email: str) -> str:
        local, domain = email.split("@")
        letters = [i for i, ch in enumerate(local) if ch.isalpha()]
        i = letters[int(self.rng.integers(1, len(letters)))] if len(letters) > 2 else len(local) - 1
        kind = self.pick(["swap", "drop", "double", "substitute"])
        if kind == "swap" and i + 1 < len(local) and local[i + 1].isalpha() and local[i + 1] != local[i]:
            local = local[:i] + local[i + 1] + local[i] + local[i + 2 :]
        elif kind == "drop":
            local = local[:i] + local[i + 1 :]
        elif kind == "double":
            local = local[:i] + local[i] + local[i:]
        else:
            local = local[:i] + self.pick([c for c in "aeioun" if c != local[i]]) + local[i + 1 :]
        return f"{local}@{domain}"

    def build_account(self, index: int) -> None:
        account_id = f"acct-{index:04d}"
        domain = f"company{index}{self.pick(['.com', '.io', '.de', '.co.uk'])}"
        self.account_rows.append(
            {"account_id": account_id, "account_name": f"Company {index}", "email_domain": domain}
        )
        size = int(
            self.pick(
                [self.rng.integers(2, 5), self.rng.integers(5, 11), self.rng.integers(11, 26)],
                p=(0.4, 0.4, 0.2),
            )
        )
        convention = self.pick(CONVENTIONS, p=CONVENTION_SHARE)
        created = int(self.rng.integers(0, DAYS // 2))
        taken: set[str] = set()
        people: list[User] = []
        namesake_planted = False
        for position in range(size):
            if people and not namesake_planted and self.rng.random() < 0.05:
                namesake_planted = True
                namesake = people[int(self.rng.integers(len(people)))]
                first, last = (
                    namesake.first_name or self.pick(FIRST_NAMES),
                    namesake.last_name or self.pick(LAST_NAMES),
                )
            else:
                first, last = self.pick(FIRST_NAMES), self.pick(LAST_NAMES)
            local = self.local_part(first, last, convention)
            if local in taken:
                local = self.second_local_part(first, last, convention, taken)
            taken.add(local)
            first_day = created if position == 0 else int(self.rng.integers(created, DAYS - 5))
            has_names = self.rng.random() < 0.92
            person = self.uid("person-")
            user = User(
                user_id=self.uid("usr-"),
                person=person,
                account_id=account_id,
                email=f"{local}@{domain}",
                first_name=first if has_names else None,
                last_name=last if has_names else None,
                devices=[self.device() for _ in range(int(self.rng.choice([1, 2, 3], p=(0.5, 0.35, 0.15))))],
                first_day=first_day,
            )
            people.append(user)
            if position > 0 and self.rng.random() < 0.07 and first_day < DAYS - 20:
                self.resignup(user)
            else:
                user.active_days = self.activity(first_day, DAYS - 1)
                self.add_user(user)
            if self.rng.random() < 0.03:
                self.junk_devices.append((user, user.devices[0]))
        if self.rng.random() < 0.06:
            self.team_mailbox(account_id, domain, created)
        if self.rng.random() < 0.02:
            self.role_handover(account_id, domain, created)

    def resignup(self, user: User) -> None:
        """The same person signs up again: the old user_id goes quiet (mostly)."""
        gap = int(self.rng.integers(5, 30))
        switch_day = min(user.first_day + gap, DAYS - 3)
        user.active_days = [d for d in self.activity(user.first_day, switch_day - 1) if d < switch_day]
        overlap = self.pick(["sequential", "brief", "concurrent"], p=(0.85, 0.10, 0.05))
        new_email = self.pick(
            [user.email, self.dirty_email(user.email), self.typo(user.email), "plus"],
            p=(0.35, 0.30, 0.25, 0.10),
        )
        if new_email == "plus":
            local, domain = user.email.split("@")
            new_email = f"{local}+{self.pick(['new', 'work', '2'])}@{domain}"
        device = self.device() if self.rng.random() < 0.6 else user.devices[0]
        again = User(
            user_id=self.uid("usr-"),
            person=user.person,
            account_id=user.account_id,
            email=new_email,
            first_name=user.first_name,
            last_name=user.last_name,
            devices=[device],
            first_day=switch_day,
        )
        again.active_days = self.activity(switch_day, DAYS - 1)
        if overlap == "brief":
            user.active_days.append(switch_day + 1)
        elif overlap == "concurrent":
            user.active_days += [d for d in again.active_days[1:] if self.rng.random() < 0.5] + [
                switch_day + 2
            ]
        user.active_days = sorted(set(user.active_days))
        self.add_user(user)
        self.add_user(again)

    def team_mailbox(self, account_id: str, domain: str, created: int) -> None:
        box = f"{self.pick(TEAM_BOXES)}@{domain}"
        for _ in range(int(self.rng.choice([2, 3, 4], p=(0.5, 0.3, 0.2)))):
            first, last = self.pick(FIRST_NAMES), self.pick(LAST_NAMES)
            user = User(
                self.uid("usr-"), self.uid("person-"), account_id, box, first, last, [self.device()],
                int(self.rng.integers(created, created + 10)),
            )  # fmt: skip
            user.active_days = self.activity(user.first_day, DAYS - 1)
            typed = f"{box}\t" if self.rng.random() < 0.3 else box
            self.add_user(user, signup_email=typed)

    def role_handover(self, account_id: str, domain: str, created: int) -> None:
        """A colleague leaves; the successor signs up with the same role address."""
        box = f"{self.pick(('billing', 'accounts', 'finance'))}@{domain}"
        leaver = User(
            self.uid("usr-"), self.uid("person-"), account_id, box, self.pick(FIRST_NAMES),
            self.pick(LAST_NAMES), [self.device()], created,
        )  # fmt: skip
        handover = min(created + int(self.rng.integers(10, 30)), DAYS - 5)
        leaver.active_days = [d for d in self.activity(created, handover - 1) if d < handover]
        successor = User(
            self.uid("usr-"), self.uid("person-"), account_id, box, self.pick(FIRST_NAMES),
            self.pick(LAST_NAMES), [self.device()], handover,
        )  # fmt: skip
        successor.active_days = self.activity(handover, DAYS - 1)
        self.add_user(leaver)
        self.add_user(successor)

    def plant_junk(self) -> None:
        """Integrations that send a placeholder user_id from real people's browsers."""
        for number, (user, device) in enumerate(self.junk_devices):
            junk = JUNK_USER_IDS[number % len(JUNK_USER_IDS)]
            for day in user.active_days[:3]:
                at = START + pd.Timedelta(days=day, hours=20)
                self.emit("logged_in", at, user, device, {"login_method": "password"}, user_id=junk)

    def build(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
        for index in range(1, self.accounts + 1):
            self.build_account(index)
        self.plant_junk()
        events = pd.DataFrame(self.events)
        accounts = pd.DataFrame(self.account_rows)
        truth = pd.Series({user.user_id: user.person for user in self.users}, name="person")
        return events, accounts, truth


def build_identity_feed(accounts: int = 300, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Events (raw envelope, text), CRM accounts, and the true person of every user_id."""
    return FeedBuilder(accounts, seed).build()
