"""The simulated company's customers: accounts, the people in them and their devices."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lawn.generator.config import GeneratorConfig

FIRST_NAMES = (
    "ana",
    "ben",
    "carla",
    "david",
    "elena",
    "farid",
    "grace",
    "hugo",
    "ines",
    "jon",
    "kira",
    "liam",
    "maya",
    "noah",
    "olga",
    "pablo",
    "quinn",
    "rosa",
    "sami",
    "tara",
    "uma",
    "victor",
    "wen",
    "xavier",
    "yara",
    "zoe",
    "amir",
    "bea",
    "chen",
    "dara",
)
LAST_NAMES = (
    "garcia",
    "smith",
    "muller",
    "rossi",
    "kowalski",
    "nguyen",
    "okafor",
    "silva",
    "tanaka",
    "dubois",
    "jensen",
    "novak",
    "haddad",
    "costa",
    "larsen",
    "moreau",
    "fischer",
    "patel",
    "ivanova",
    "brown",
    "kim",
    "lopez",
    "berg",
    "weber",
    "santos",
    "ali",
    "cohen",
    "evans",
)
COMPANY_WORDS = (
    "acme",
    "north",
    "blue",
    "river",
    "atlas",
    "cedar",
    "pixel",
    "summit",
    "harbor",
    "lumen",
    "orbit",
    "maple",
    "quartz",
    "nova",
    "delta",
    "ember",
    "fable",
    "granite",
    "helix",
    "iris",
)
COMPANY_SUFFIXES = ("labs", "studio", "works", "partners", "group", "co", "digital", "build")
INDUSTRIES = ("agency", "construction", "consulting", "ecommerce", "healthcare", "legal", "software")
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "ES", "CA", "AU", "BR", "IN")
CHANNELS = ("organic", "paid_search", "paid_social", "referral", "outbound", "partner")
SALES_OWNERS = ("alice.m", "bruno.k", "chloe.t", "dev.r", "eva.s")
SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_SHARE = (0.6, 0.3, 0.1)
SEGMENT_PEOPLE = {"smb": (1, 4), "mid_market": (3, 9), "enterprise": (6, 18)}
LOCALES = {
    "US": "en-US",
    "GB": "en-GB",
    "DE": "de-DE",
    "FR": "fr-FR",
    "NL": "nl-NL",
    "ES": "es-ES",
    "CA": "en-CA",
    "AU": "en-AU",
    "BR": "pt-BR",
    "IN": "en-IN",
}


@dataclass
class Device:
    device_id: str
    platform: str  # web, ios, android
    anonymous_id: str
    app_version: str
    owners: list[str] = field(default_factory=list)  # person_ids, several when shared


@dataclass
class Person:
    person_id: str
    account_id: str
    user_id: str
    first_name: str
    last_name: str
    email: str
    role: str
    is_founder: bool
    activity: float
    devices: list[Device] = field(default_factory=list)
    signup_day: int | None = None
    # a second user_id this person created by re-signing up with a typo in the email
    resignup_user_id: str | None = None
    resignup_email: str | None = None


@dataclass
class Account:
    account_id: str
    name: str
    domain: str
    industry: str
    segment: str
    country: str
    created_day: int
    channel: str
    sales_owner: str
    health: float
    people: list[Person] = field(default_factory=list)

    @property
    def locale(self) -> str:
        return LOCALES[self.country]


def _typo(local_part: str, rng: np.random.Generator) -> str:
    """Swap two adjacent letters of an email local part (a plausible re-signup typo)."""
    if len(local_part) < 3:
        return local_part + "1"
    i = int(rng.integers(0, len(local_part) - 2))
    if local_part[i] == local_part[i + 1] or "." in local_part[i : i + 2]:
        return local_part[:i] + local_part[i] + local_part[i:]  # doubled letter
    return local_part[:i] + local_part[i + 1] + local_part[i] + local_part[i + 2 :]


def build_world(config: GeneratorConfig, rng: np.random.Generator) -> list[Account]:
    """Create accounts, people and devices; account signups fall in the first 75% of days."""
    accounts: list[Account] = []
    used_domains: set[str] = set()
    person_seq = 0
    device_seq = 0
    last_signup_day = max(1, int(config.days * 0.75))
    for index in range(config.accounts):
        account_id = f"acc_{index + 1:05d}"
        word = COMPANY_WORDS[int(rng.integers(len(COMPANY_WORDS)))]
        suffix = COMPANY_SUFFIXES[int(rng.integers(len(COMPANY_SUFFIXES)))]
        domain = f"{word}{suffix}.com"
        while domain in used_domains:
            domain = f"{word}{suffix}{int(rng.integers(2, 999))}.com"
        used_domains.add(domain)
        segment = SEGMENTS[int(rng.choice(3, p=SEGMENT_SHARE))]
        country = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        account = Account(
            account_id=account_id,
            name=f"{word.title()} {suffix.title()}",
            domain=domain,
            industry=INDUSTRIES[int(rng.integers(len(INDUSTRIES)))],
            segment=segment,
            country=country,
            created_day=int(rng.integers(0, last_signup_day)),
            channel=CHANNELS[int(rng.integers(len(CHANNELS)))],
            sales_owner=SALES_OWNERS[int(rng.integers(len(SALES_OWNERS)))],
            health=float(rng.beta(4, 2)),
        )
        low, high = SEGMENT_PEOPLE[segment]
        used_emails: set[str] = set()
        for position in range(int(rng.integers(low, high + 1))):
            person_seq += 1
            first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
            last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
            local = f"{first}.{last}"
            while f"{local}@{domain}" in used_emails:
                local = f"{first}.{last}{int(rng.integers(2, 99))}"
            used_emails.add(f"{local}@{domain}")
            person = Person(
                person_id=f"per_{person_seq:06d}",
                account_id=account_id,
                user_id=f"usr_{rng.integers(16**10):010x}",
                first_name=first,
                last_name=last,
                email=f"{local}@{domain}",
                role="owner"
                if position == 0
                else str(rng.choice(["admin", "member", "viewer"], p=[0.2, 0.65, 0.15])),
                is_founder=position == 0,
                activity=float(rng.beta(2, 3)),
            )
            for _ in range(int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))):
                device_seq += 1
                platform = str(rng.choice(["web", "ios", "android"], p=[0.6, 0.25, 0.15]))
                version = "2.9.4" if rng.random() < 0.3 else "3.2.0"
                person.devices.append(
                    Device(
                        device_id=f"dev_{device_seq:07d}",
                        platform=platform,
                        anonymous_id=f"anon_{rng.integers(16**12):012x}",
                        app_version=version if platform != "web" else "web-2026.03",
                        owners=[person.person_id],
                    )
                )
            account.people.append(person)
        accounts.append(account)
    return accounts


def plant_shared_devices(accounts: list[Account], rate: float, rng: np.random.Generator) -> None:
    """Let a share of people also use a colleague's device (a shared office tablet or laptop)."""
    for account in accounts:
        if len(account.people) < 2:
            continue
        for person in account.people[1:]:
            if rng.random() < rate:
                owner = account.people[int(rng.integers(0, len(account.people)))]
                if owner is person:
                    continue
                device = owner.devices[0]
                device.owners.append(person.person_id)
                person.devices.append(device)


def plant_resignups(accounts: list[Account], rate: float, rng: np.random.Generator) -> None:
    """Some non-founders sign up a second time with a typo in their email (a new user_id)."""
    for account in accounts:
        for person in account.people[1:]:
            if rng.random() < rate:
                local, domain = person.email.split("@")
                person.resignup_user_id = f"usr_{rng.integers(16**10):010x}"
                person.resignup_email = f"{_typo(local, rng)}@{domain}"
