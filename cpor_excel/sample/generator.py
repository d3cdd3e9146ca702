"""The generator behind ``create_sample``: customers, claims in every status with dates that hang
together, monthly usage that grows after a claim, and the planted problems, all from one seed."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from random import Random

import numpy as np

from cpor_excel.model.catalogue import (
    CUSTOMER_DECLINED,
    DECLINED_STATUS_ALIASES,
    INCENTIVISED_ROLE,
    canonical_workload,
    fold,
)
from cpor_excel.model.columns import ASSOCIATIONS, CUSTOMERS, USAGE
from cpor_excel.sample.cast import (
    CORE,
    FIRST_DECK,
    LOCALES,
    PARTNERS,
    POPULARITY,
    REPORTED,
    STATUS_DECK,
    TYPED,
    TYPED_STATUS,
    Partner,
    slug,
)

USAGE_MONTHS = 14  # the as-of month and the 13 before it: 2024-10 .. 2025-11 for the default as-of
AMBIGUOUS_DATE = "03/04/2025"
EXAMPLE_LOWEST_THRESHOLD = 0.20  # the highest M1 threshold of the example table: reaching it earns an M1
EXAMPLE_GATE = 0.20  # the example table's XXS gate (Max Usage % At Claim)
MIN_PAID_UNITS = 150

#: (sheet, Excel row, canonical column, finding code)
Planted = tuple[str, int, str, str]


@dataclass
class _Customer:
    tenant: str
    name: str
    domain: str
    contact: str
    title: str
    email: str
    country: str
    public: bool
    language: str
    partner: Partner  # the reseller it mostly works with


@dataclass
class _Claim:
    customer: int
    partner: Partner
    contact: tuple[str, str]
    workloads: list[str]  # canonical
    status: str  # canonical
    created: dt.date
    poe: dt.date | str | None = None
    submitted: dt.date | None = None
    approved: dt.date | None = None
    ended: dt.date | None = None
    changed: dt.date | None = None  # Status Changed: the latest status change Partner Center shows
    reason: str | None = None  # Rejection Reason
    role: str = INCENTIVISED_ROLE  # Partner Role
    opt_out: bool = False  # Incentive Opt-out
    current: bool = True  # False: an earlier partner's claim that has ended
    typed_status: str = ""
    typed: list[str] = field(default_factory=list)  # workloads as written in the sheet
    plant: dict[int, str] = field(default_factory=dict)  # workload position -> code planted on its row
    claim_id: str = ""
    rows: list[int] = field(default_factory=list)


@dataclass
class Sample:
    customer_rows: list[list[object]]
    association_rows: list[list[object]]
    usage_rows: list[Sequence[object]]
    planted: list[Planted]
    milestone_claims: list[str]


#: the role of the few approved sample claims that earn nothing for it
NON_INCENTIVISED_ROLE = "Usage recognition - Non-Incentivized"
#: why the sample's rejected claims were rejected (Customer declined comes from the typed status too)
REJECTION_REASON_DECK = ("Insufficient POE", "Insufficient POE", "Missing products", "No partner response")

# problems planted on one customer each, spread through the sheet
_ROLES = ("bad-tenant-id", "bad-email", "unknown-workload", "ambiguous-date", "poe-missing",
          "association-conflict", "duplicate-key")  # fmt: skip


class Generator:
    def __init__(self, customers: int, seed: int, as_of: dt.date) -> None:
        self.count = customers
        self.seed = seed
        self.as_of = as_of
        self.rng = Random(seed)
        first = dt.date(as_of.year, as_of.month, 1)
        start = first.year * 12 + first.month - 1 - (USAGE_MONTHS - 1)
        self.months = [dt.date((start + k) // 12, (start + k) % 12 + 1, 1) for k in range(USAGE_MONTHS)]
        self.roles = {(j + 1) * customers // (len(_ROLES) + 1): role for j, role in enumerate(_ROLES)}
        self.partners = self.rng.sample(PARTNERS, self.rng.choice((3, 4)))
        self.deck: list[str] = []
        self.dealt = False
        self.names: set[str] = set()
        self.planted: list[Planted] = []
        self.high_water_mark_from = high_water_mark_from(as_of)

    # -- helpers
    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def days_ago(self, low: int, high: int) -> dt.date:
        return self.as_of - dt.timedelta(days=self.rng.randint(low, high))

    def month_index(self, day: dt.date) -> int:
        first = self.months[0]
        return (day.year - first.year) * 12 + day.month - first.month

    def deal_status(self) -> str:
        if not self.deck:
            self.deck = list(STATUS_DECK if self.dealt else FIRST_DECK)
            self.rng.shuffle(self.deck)
            self.dealt = True
        return self.deck.pop()

    # -- customers
    def customer(self, index: int) -> _Customer:
        rng = self.rng
        locale = rng.choices(LOCALES, weights=[loc.weight for loc in LOCALES])[0]
        country, tld, public_tld = rng.choice(locale.countries)
        public = index == 1 or rng.random() < 0.06
        for attempt in range(20):  # distinct names while the pools allow; a large sample may repeat one
            city = rng.choice(locale.cities)
            if public and attempt < 10:
                name = stem = rng.choice(locale.public).format(city=city)
                suffix = public_tld
            else:
                public, suffix = False, tld
                stem, sector = rng.choice(locale.stems), rng.choice(locale.sectors)
                if attempt >= 3:
                    sector = f"{sector} {city}"
                name = locale.company.format(stem=stem, sector=sector, legal=rng.choice(locale.legal))
                stem = f"{stem} {sector}"
            if stem not in self.names:
                break
        self.names.add(stem)
        domain = slug(stem) + suffix
        first, last = rng.choice(locale.first), rng.choice(locale.last)
        local = (
            f"{slug(first, '')}.{slug(last, '')}"
            if rng.random() < 0.7
            else f"{slug(first, '')[0]}.{slug(last, '')}"
        )
        partner = rng.choices(
            self.partners, weights=[3 if p.language == locale.language else 1 for p in self.partners]
        )[0]
        return _Customer(
            tenant=self.guid(),
            name=name,
            domain=domain,
            contact=f"{first} {last}",
            title=rng.choice(locale.titles),
            email=f"{local}@{domain}",
            country=country,
            public=public,
            language=locale.language,
            partner=partner,
        )

    def workloads(self) -> list[str]:
        count = self.rng.randint(6, 10)
        # weighted sampling without replacement (Efraimidis-Spirakis keys), then catalogue order
        keys = {w: self.rng.random() ** (1 / weight) for w, weight in POPULARITY.items()}
        chosen = set(sorted(keys, key=keys.__getitem__, reverse=True)[:count])
        return [w for w in POPULARITY if w in chosen]

    # -- claims
    def claim(self, index: int, partner: Partner, workloads: list[str], status: str) -> _Claim:
        """A claim with dates that fit its status: Created <= POE Signed <= Submitted <= Approved <= Ended."""
        rng, as_of = self.rng, self.as_of
        claim = _Claim(index, partner, rng.choice(partner.contacts), workloads, status, as_of)
        if status == "Draft":
            claim.created = self.days_ago(0, 60)
            if rng.random() < 0.5:
                claim.poe = claim.created + dt.timedelta(
                    days=rng.randint(0, min(20, (as_of - claim.created).days))
                )
            return claim
        window = {
            "Approved": (60, 420), "Submitted": (0, 4), "Under review": (6, 30),
            "Partner action required": (10, 45), "Dispute": (40, 120), "Rejected": (20, 400),
            "Rejected final": (40, 400),
        }[status]  # fmt: skip
        submitted = self.days_ago(*window)
        claim.submitted = submitted
        claim.poe = submitted - dt.timedelta(days=rng.randint(0, 14))
        claim.created = claim.poe - dt.timedelta(days=rng.randint(0, 30))
        if status == "Approved" or (status == "Rejected final" and rng.random() < 0.5):
            claim.approved = submitted + dt.timedelta(days=rng.randint(7, 30))
        if status == "Rejected":
            claim.ended = min(as_of, submitted + dt.timedelta(days=rng.randint(5, 20)))
            claim.reason = rng.choice(REJECTION_REASON_DECK)
        elif status == "Rejected final":
            after = claim.approved or submitted
            claim.ended = min(as_of, after + dt.timedelta(days=rng.randint(20, 150)))
        self.status_changed(claim)
        return claim

    def status_changed(self, claim: _Claim) -> None:
        """The Status Changed date of a claim's status. Partner action required is always answerable still
        (the sample plants no overdue answer); Under review may be past Microsoft's 14 business days."""
        rng, status = self.rng, claim.status
        if status in ("Draft", "Submitted") or claim.submitted is None:
            return
        if status == "Partner action required":
            claim.changed = max(claim.submitted, self.as_of - dt.timedelta(days=rng.randint(0, 12)))
        elif status in ("Under review", "Dispute"):
            claim.changed = min(self.as_of, claim.submitted + dt.timedelta(days=rng.randint(1, 6)))
        else:  # Approved, Rejected, Rejected final
            claim.changed = claim.ended or claim.approved

    def earlier_claim(self, later: _Claim) -> _Claim:
        """Another partner's claim on some of the same workloads that ended before ``later`` was created."""
        rng = self.rng
        others = [p for p in self.partners if p is not later.partner]
        workloads = later.workloads[: rng.randint(1, len(later.workloads))]
        partner = rng.choice(others)
        status = rng.choice(("Rejected", "Rejected final"))
        claim = _Claim(
            later.customer, partner, rng.choice(partner.contacts), workloads, status, later.created
        )
        claim.current = False
        claim.reason = None if status == "Rejected final" else "Partner request"
        claim.submitted = later.created - dt.timedelta(days=rng.randint(60, 200))
        claim.poe = claim.submitted - dt.timedelta(days=rng.randint(0, 14))
        claim.created = claim.poe - dt.timedelta(days=rng.randint(0, 30))
        if claim.status == "Rejected final":
            claim.approved = claim.submitted + dt.timedelta(days=rng.randint(7, 20))
            claim.ended = later.created - dt.timedelta(days=rng.randint(1, 15))
        else:
            claim.ended = claim.submitted + dt.timedelta(days=rng.randint(5, 20))
        claim.changed = claim.ended
        return claim

    def claims_of(self, index: int, customer: _Customer, role: str | None) -> list[_Claim]:
        rng = self.rng
        if role == "bad-tenant-id" or (role is None and rng.random() < 0.05):
            return []  # a prospect: no claim yet
        workloads = self.workloads()
        # a planted claim needs two workloads (one row to spoil, one to stay clean) or exactly one
        size = {"unknown-workload": 2, "association-conflict": 2, "ambiguous-date": 1, "poe-missing": 1}.get(
            role or ""
        )
        groups: list[list[str]] = []
        while workloads:
            size = min(len(workloads), size or rng.choice((1, 2, 2, 3, 3)))
            groups.append(workloads[:size])
            workloads, size = workloads[size:], None
        claims: list[_Claim] = []
        for position, group in enumerate(groups):
            partner = customer.partner if rng.random() < 0.8 else rng.choice(self.partners)
            if role == "bad-email":
                # all approved: no email is drafted for this customer, so the bad address spoils nothing else
                status = "Approved"
            elif position == 0 and role in ("unknown-workload", "association-conflict"):
                status = "Approved"
            elif position == 0 and role == "ambiguous-date":
                status = "Draft"
            elif position == 0 and role == "poe-missing":
                status = "Submitted"
            else:
                status = self.deal_status()
            claim = self.claim(index, partner, group, status)
            if role is None and status == "Approved":
                # a few approved claims earn nothing: recognition only, or another role
                draw = rng.random()
                claim.opt_out = draw < 0.04
                claim.role = NON_INCENTIVISED_ROLE if 0.04 <= draw < 0.07 else INCENTIVISED_ROLE
            claims.append(claim)
        first = claims[0]
        if role == "unknown-workload":
            first.plant[1] = "unknown-workload"
        elif role == "ambiguous-date":
            first.created = (
                dt.date(2025, 2, 24) if self.as_of >= dt.date(2025, 4, 5) else self.days_ago(40, 50)
            )
            first.poe = AMBIGUOUS_DATE
            first.plant[0] = "ambiguous-date"
        elif role == "poe-missing":
            first.poe = None
            first.plant[0] = "poe-missing"
        elif role == "association-conflict":
            rival = [p for p in self.partners if p is not first.partner]
            latecomer = self.claim(index, rng.choice(rival), first.workloads[1:2], "Submitted")
            first.plant[1] = latecomer.plant[0] = "association-conflict"
            claims.append(latecomer)
        if role is None:
            # some workloads were claimed by another partner before, until the customer changed partner
            claims += [
                self.earlier_claim(c) for c in claims if c.status == "Approved" and rng.random() < 0.45
            ]
        return claims

    def typed(self, claim: _Claim) -> None:
        """Workload and status as the partner wrote them, planted typos included."""
        rng = self.rng
        claim.typed_status = rng.choice(TYPED_STATUS.get(claim.status, (claim.status,)))
        if fold(claim.typed_status) in DECLINED_STATUS_ALIASES:
            claim.reason = CUSTOMER_DECLINED
        claim.typed = []
        for position, workload in enumerate(claim.workloads):
            if claim.plant.get(position) == "unknown-workload":
                claim.typed.append(_typo(workload))
            else:
                spellings = TYPED.get(workload, (workload,))
                claim.typed.append(spellings[0] if rng.random() < 0.6 else rng.choice(spellings))

    def poe_reference(self, claim: _Claim) -> str | None:
        if claim.poe is None:
            return None
        if self.rng.random() < 0.6:
            return f"POE {claim.claim_id} signed.pdf"
        site = slug(claim.partner.name.split()[0], "")
        return f"https://{site}.sharepoint.com/sites/CPOR/POE/{claim.claim_id}.pdf"

    # -- the whole workbook
    def run(self) -> Sample:
        customers = [self.customer(i) for i in range(self.count)]
        claims: list[_Claim] = []
        for index, customer in enumerate(customers):
            claims += self.claims_of(index, customer, self.roles.get(index))
        # the sheet is kept in the order claims were created
        claims.sort(key=lambda c: (c.created, c.customer))
        association_rows: list[list[object]] = []
        for number, claim in enumerate(claims, start=1):
            claim.claim_id = f"C-{10000 + number}"
            self.typed(claim)
            customer = customers[claim.customer]
            reference = self.poe_reference(claim)
            for position, typed in enumerate(claim.typed):
                row = len(association_rows) + 2
                claim.rows.append(row)
                association_rows.append([
                    claim.claim_id, customer.tenant, typed, claim.partner.partner_id, claim.partner.name,
                    claim.contact[0], claim.contact[1], claim.typed_status, claim.created, claim.poe, reference,
                    claim.submitted, claim.approved, claim.ended, claim.changed, claim.reason, claim.role,
                    "Yes" if claim.opt_out else "No",
                ])  # fmt: skip
                code = claim.plant.get(position)
                if code:
                    column = "POE Signed" if code in ("ambiguous-date", "poe-missing") else "Workload"
                    self.planted.append((ASSOCIATIONS.name, row, column, code))
        customer_rows: list[list[object]] = [
            [
                c.tenant,
                c.name,
                c.domain,
                c.contact,
                c.title,
                c.email,
                c.country,
                "Yes" if c.public else "No",
                c.language,
            ]
            for c in customers
        ]
        for index, role in self.roles.items():
            if role == "bad-tenant-id":
                customer_rows[index][0] = customers[index].tenant[:-1]  # a character lost in copy and paste
                self.planted.append((CUSTOMERS.name, index + 2, "Tenant ID", role))
            elif role == "bad-email":
                customer_rows[index][5] = customers[index].email.replace("@", "@@")
                self.planted.append((CUSTOMERS.name, index + 2, "Contact Email", role))
        usage_rows, milestone_claims = self.usage(customers, claims)
        return Sample(customer_rows, association_rows, usage_rows, self.planted, milestone_claims)

    def usage(
        self, customers: list[_Customer], claims: list[_Claim]
    ) -> tuple[list[Sequence[object]], list[str]]:
        """Monthly usage of every claimed tenant workload, vectorised over (month, tenant workload)."""
        rng = self.rng
        # one entry per tenant workload; the current claim (first one of a workload) decides when adoption grows
        pairs: dict[tuple[int, str], _Claim] = {}
        for claim in sorted(claims, key=lambda c: (not c.current, c.status != "Approved", c.created)):
            for workload in claim.workloads:
                pairs.setdefault((claim.customer, workload), claim)
        keys = sorted(pairs, key=lambda k: (k[0], list(POPULARITY).index(k[1])))
        n = len(keys)
        seats = {}
        for index in sorted({k[0] for k in keys}):
            size = rng.choices(((40, 149), (150, 299), (300, 999), (1000, 6000)), weights=(6, 40, 40, 14))[0]
            seats[index] = rng.randint(*size)
        columns = {
            name: np.empty(n)
            for name in ("seats", "share", "seat_growth", "start", "base", "drift", "growth", "cap", "sub")
        }
        for i, (index, workload) in enumerate(keys):
            claim = pairs[(index, workload)]
            adopting = claim.current and claim.status not in ("Draft", "Rejected", "Rejected final")
            columns["seats"][i] = seats[index]
            columns["share"][i] = rng.uniform(0.92, 1.0) if workload in CORE else rng.uniform(0.7, 1.0)
            columns["seat_growth"][i] = rng.uniform(0.0, 0.015)
            columns["start"][i] = 0 if rng.random() < 0.75 else rng.randint(1, 3)
            columns["base"][i] = rng.uniform(0.03, 0.15)
            columns["drift"][i] = rng.uniform(0.0, 0.002)
            columns["growth"][i] = rng.uniform(0.03, 0.08)
            columns["cap"][i] = rng.uniform(0.55, 0.92)
            columns["sub"][i] = self.month_index(claim.submitted) if adopting and claim.submitted else 10**6
        k = np.arange(USAGE_MONTHS)[:, None]  # months down, tenant workloads across
        paid = np.rint(columns["seats"] * columns["share"] * (1 + columns["seat_growth"] * k)).astype(
            np.int64
        )
        # usage stays at or below 18% until the month of submission (so no claim trips the 20% XXS gate),
        # then grows each month towards the workload's ceiling
        ratio = columns["base"] + columns["drift"] * k + columns["growth"] * np.maximum(0, k - columns["sub"])
        ratio = np.minimum(ratio, columns["cap"])
        jitter = 0.97 + 0.03 * _noise(np.arange(n)[None, :] * USAGE_MONTHS + k, self.seed)
        active = np.floor(ratio * jitter * paid).astype(np.int64)
        present = k >= columns["start"]
        # Partner Center exports are pasted month by month: rows are month-major
        month_of, pair_of = np.nonzero(present)
        tenant_of = np.array([customers[index].tenant for index, _ in keys], dtype=object)
        reported = np.array([REPORTED.get(w, w) for _, w in keys], dtype=object)
        months = np.array(self.months, dtype=object)
        rows: list[Sequence[object]] = list(
            zip(
                tenant_of[pair_of].tolist(), reported[pair_of].tolist(), months[month_of].tolist(),
                active[month_of, pair_of].tolist(), paid[month_of, pair_of].tolist(), strict=True,
            )
        )  # fmt: skip
        # planted: one row of the latest month pasted twice, and a tenant nobody added to Customers
        duplicated = next(i for i, (index, _) in enumerate(keys) if self.roles.get(index) == "duplicate-key")
        rows.append(rows[int(np.flatnonzero((month_of == USAGE_MONTHS - 1) & (pair_of == duplicated))[0])])
        self.planted.append((USAGE.name, len(rows) + 1, "Tenant ID", "duplicate-key"))
        rows.append([self.guid(), "Exchange", self.months[-1], rng.randint(40, 120), rng.randint(150, 400)])
        self.planted.append((USAGE.name, len(rows) + 1, "Tenant ID", "unknown-tenant"))
        return rows, self.earning(keys, pairs, paid, active, present)

    def earning(
        self,
        keys: list[tuple[int, str]],
        pairs: dict[tuple[int, str], _Claim],
        paid: np.ndarray,
        active: np.ndarray,
        present: np.ndarray,
    ) -> list[str]:
        """Approved claims whose usage earns at least an M1 of the example table: a counted month (after the
        month of approval) with at least 150 paid units and 20% active, and no gate at submission."""
        k = np.arange(USAGE_MONTHS)[:, None]
        approved = np.array(
            [self._month_or(pairs[key].approved, pairs[key].status == "Approved") for key in keys]
        )
        submitted = np.array([self._month_or(pairs[key].submitted, True) for key in keys])
        share = np.divide(active, paid, out=np.zeros(active.shape), where=paid > 0)
        counted = present & (k > approved) & (paid >= MIN_PAID_UNITS) & (share >= EXAMPLE_LOWEST_THRESHOLD)
        counted &= k < self.month_index(self.high_water_mark_from)  # later months are paid above the mark
        counted &= np.array([not pairs[key].opt_out and pairs[key].role == INCENTIVISED_ROLE for key in keys])
        gated = present & (k == submitted) & (share > EXAMPLE_GATE)
        earns = counted.any(axis=0) & ~gated.any(axis=0)
        found: set[str] = set()
        for i in np.flatnonzero(earns):
            claim = pairs[keys[i]]
            if not claim.plant:
                found.add(claim.claim_id)
        return sorted(found)

    def _month_or(self, day: dt.date | None, wanted: bool) -> int:
        return self.month_index(day) if wanted and day else 10**6


def high_water_mark_from(as_of: dt.date) -> dt.date:
    """The sample's High-Water Mark From: five months before the as-of month, so that claims approved before it
    cross the boundary (milestones before, usage above the high-water mark after)."""
    month = as_of.year * 12 + as_of.month - 1 - 5
    return dt.date(month // 12, month % 12 + 1, 1)


def _typo(workload: str) -> str:
    """A workload name with two letters swapped, as typed in a hurry (never a catalogue name)."""
    for i in range(3, len(workload) - 1):
        if workload[i].isalpha() and workload[i + 1].isalpha() and workload[i] != workload[i + 1]:
            typo = workload[:i] + workload[i + 1] + workload[i] + workload[i + 2 :]
            if canonical_workload(typo) is None:
                return typo
    return workload + "x"


def _noise(index: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic noise in [0, 1) from an integer hash, so usage needs no random draw per row."""
    mixed = (index.astype(np.uint64) + np.uint64((seed * 7919 + 1) % 2**32)) * np.uint64(2654435761)
    return (mixed % np.uint64(2**32)).astype(np.float64) / 2**32
