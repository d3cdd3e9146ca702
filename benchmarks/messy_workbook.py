"""A messy first-run workbook for timing: many findings, most usage months reaching milestones.

5,000 customers with ten claimed workloads each (50,000 association rows, mostly Approved before the usage
starts), ten months of usage for every customer workload (500,000 rows) with paid units in the Small and
Medium buckets of the example milestone table and active users high enough that most months reach a
milestone, no Milestone Ledger yet (a first run), and problems scattered through every sheet: bad emails and
tenant IDs, missing values, duplicate keys, old POEs, conflicting partners, usage above licences. A run on it
records about 75,000 new ledger rows and reports about 85,000 findings.

    python benchmarks/messy_workbook.py [--customers 5000] [--out benchmarks/out/messy_5000.xlsx]

Written with xlsxwriter (a test extra) in constant-memory mode, as Excel would store it: dates as dates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import uuid
from pathlib import Path

import numpy as np

from cpor_excel.model.catalogue import WORKLOADS
from cpor_excel.model.columns import ASSOCIATIONS, CUSTOMERS, USAGE

HERE = Path(__file__).resolve().parent
WORKLOADS_PER_CUSTOMER = 10
MONTHS = [dt.date(2025, m, 1) for m in range(2, 12)]  # after every Approved date, up to the as-of month
PARTNERS = [("1234567", "Contoso Partners"), ("2345678", "Fabrikam IT"), ("3456789", "Northwind Cloud")]
STATUSES = ["Approved"] * 17 + ["Submitted", "Draft", "Rejected"]
LANGUAGES = ["en", "de", "fr", "nl", "es"]


def messy_workbook(path: Path, customers: int = 5000, seed: int = 11) -> Path:
    import xlsxwriter

    rng = np.random.default_rng(seed)
    tenants = [str(uuid.UUID(int=int(x))) for x in rng.integers(1, 2**62, customers)]
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    month = book.add_format({"num_format": "yyyy-mm"})

    sheet = book.add_worksheet("Customers")
    sheet.write_row(0, 0, [c.name for c in CUSTOMERS.columns])
    bad_email = rng.random(customers) < 0.01
    for i, tenant in enumerate(tenants):
        email = f"contact{i}@customer{i}.example" if not bad_email[i] else f"contact{i} at customer{i}"
        sheet.write_row(
            i + 1,
            0,
            [tenant, f"Customer {i}", f"customer{i}.example", f"Contact {i}", "IT Manager", email, "Germany",
             "no" if i % 20 else "yes", LANGUAGES[i % 5]],
        )  # fmt: skip

    sheet = book.add_worksheet("Associations")
    sheet.write_row(0, 0, [c.name for c in ASSOCIATIONS.columns])
    names = list(WORKLOADS)
    row = 1
    claimed: list[tuple[str, str]] = []
    for i, tenant in enumerate(tenants):
        picked = rng.choice(len(names), WORKLOADS_PER_CUSTOMER, replace=False)
        status = STATUSES[int(rng.integers(len(STATUSES)))]
        partner_id, partner = PARTNERS[i % len(PARTNERS)]
        created = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 240)))
        submitted = created + dt.timedelta(days=int(rng.integers(5, 40)))
        approved = submitted + dt.timedelta(days=int(rng.integers(10, 60)))
        old_poe = rng.random() < 0.02
        poe = submitted - dt.timedelta(days=500 if old_poe else int(rng.integers(1, 30)))
        for k, w in enumerate(picked):
            claim = f"C-{i:05d}-{k // 3}"  # claims of three workloads
            workload = names[int(w)]
            values: list[object] = [
                claim, tenant, workload, partner_id, partner, f"Rep {i % 40}", f"rep{i % 40}@partner.example",
                status, created, poe if status != "Draft" or k % 2 else None, f"POE-{i}.pdf",
                submitted if status != "Draft" else None, approved if status in ("Approved", "Rejected") else None,
                None,
            ]  # fmt: skip
            if rng.random() < 0.003:
                values[6] = None  # missing-value
            _write(sheet, row, values, date)
            row += 1
            claimed.append((tenant, workload))
        if i % 200 == 7:  # another partner claims one of its workloads: a live conflict
            other_id, other = PARTNERS[(i + 1) % len(PARTNERS)]
            values = [f"X-{i:05d}", tenant, names[int(picked[0])], other_id, other, "Rep", "rep@other.example",
                      "Approved", created, poe, "POE.pdf", submitted, approved, None]  # fmt: skip
            _write(sheet, row, values, date)
            row += 1

    sheet = book.add_worksheet("Usage")
    sheet.write_row(0, 0, [c.name for c in USAGE.columns])
    pairs = len(claimed)
    paid = rng.integers(300, 2000, pairs)
    usage = rng.uniform(0.05, 0.37, pairs)
    growth = rng.uniform(0.0, 0.02, pairs)
    row = 1
    for p, (tenant, workload) in enumerate(claimed):
        for m, first in enumerate(MONTHS):
            units = int(paid[p])
            users = int(units * min(0.95, usage[p] + growth[p] * m))
            if (p * 7 + m) % 97 == 0:
                users = units + 5  # usage-above-licences
            odd = (p * 13 + m * 7) % 1000
            sheet.write_string(row, 0, tenant if odd >= 3 else tenant[:-4])  # bad-tenant-id
            sheet.write_string(row, 1, workload)
            if odd in (5, 6):
                sheet.write_string(row, 2, first.strftime("%m/01/%Y"))  # ambiguous-date
            else:
                sheet.write_datetime(row, 2, dt.datetime(first.year, first.month, 1), month)
            sheet.write_number(row, 3, users)
            sheet.write_number(row, 4, units)
            row += 1
        if p % 5000 == 3:  # the same month twice: duplicate-key
            sheet.write_row(row, 0, [tenant, workload])
            sheet.write_datetime(row, 2, dt.datetime(MONTHS[0].year, MONTHS[0].month, 1), month)
            sheet.write_row(row, 3, [1, 1])
            row += 1
    book.close()
    return path


def _write(sheet: object, row: int, values: list[object], date: object) -> None:
    for col, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, dt.date):
            sheet.write_datetime(row, col, dt.datetime(value.year, value.month, value.day), date)  # type: ignore[attr-defined]
        else:
            sheet.write(row, col, value)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or HERE / "out" / f"messy_{args.customers}.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    messy_workbook(out, args.customers)
    print(f"{out} in {time.perf_counter() - started:.1f} s ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
