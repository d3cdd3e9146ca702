"""Reconciliation: what the tool expected Microsoft to pay (the Earnings Ledger) against what Microsoft says it
paid or refused (the Microsoft Earnings sheet, from `import-earnings`). Pure: frames in, rows and findings out.

Per tenant, workload and month (SPEC "Partner Center downloads, as they come"):
- the ledger expects pay (Paid Users > 0) and Microsoft paid: they agree when Microsoft's compensable units
  equal the Paid Users, else ``earnings-differ`` (info);
- the ledger expects pay and Microsoft calls the month ineligible: ``earnings-ineligible`` (warning), with
  Microsoft's reason code in words and whether the partner can act (model/earnings.py);
- the ledger expects pay, an Earnings download covering the month was imported (Earnings Imports) and
  Microsoft has no row for it: ``earnings-missing`` (warning);
- Microsoft paid a month the ledger does not expect paid (no ledger row, or Paid Users 0):
  ``earnings-unexpected`` (info).
A month Microsoft paid counts as paid even when an older download called it ineligible (a dispute won).
Findings sit on the claim's association row (the ledger's claim, else Microsoft's claimId, else the tenant's
latest row for the workload), one per row and code, naming every month; a month no association row takes is
reported on its Microsoft Earnings row. Months the downloads cover and the ledger and Microsoft agree on are
listed too, so the Reconciliation sheet shows the whole period side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from cpor_excel.model.columns import (
    ASSOCIATIONS,
    EARNED,
    INELIGIBLE,
    MS_EARNINGS_SHEET,
    RECONCILIATION_HEADER,
)
from cpor_excel.model.earnings import in_words
from cpor_excel.model.findings import Finding

KEY = ["Tenant ID", "Workload", "Month"]
EARNINGS_REPORT = "Earnings report"  # the Report an Earnings Imports row names for the Earnings download


@dataclass
class Reconciliation:
    rows: pd.DataFrame  # RECONCILIATION_HEADER columns, one row per tenant, workload and month
    findings: list[Finding] = field(default_factory=list)


def month_text(values: pd.Series) -> pd.Series:
    """Months as "YYYY-MM" (object; None where empty or unreadable) from dates or text."""
    if values.dtype.kind == "M":
        dates = values
    else:
        dates = pd.to_datetime(
            values.astype("string").str.strip().str.slice(0, 7), format="%Y-%m", errors="coerce"
        )
    return dates.dt.strftime("%Y-%m").astype(object).where(dates.notna(), None)


def _number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype(float)


def _text(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.astype(object).where(text.notna() & (text != ""), None)


def _ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "Tenant ID": _text(ledger["Tenant ID"]).str.lower(),
            "Workload": _text(ledger["Workload"]),
            "Month": month_text(ledger["Month"]),
            "Claim ID": _text(ledger["Claim ID"]),
            "Customer": _text(ledger["Customer"]),
            "Partner ID": _text(ledger["Partner ID"]),
            "Paid Users": _number(ledger["Paid Users"]),
            "Amount": _number(ledger["Amount"]),
            "Currency": _text(ledger["Currency"]),
            "Reason": _text(ledger["Reason"]),
        }
    ).dropna(subset=KEY)
    frame["_ledger"] = True
    return frame.drop_duplicates(KEY, keep="first")


def _microsoft(microsoft: pd.DataFrame, kind: str, prefix: str) -> pd.DataFrame:
    rows = microsoft[_text(microsoft["Kind"]).str.capitalize() == kind]
    frame = pd.DataFrame(
        {
            "Tenant ID": _text(rows["Tenant ID"]).str.lower().str.strip("{}"),
            "Workload": _text(rows["Workload"]),
            "Month": month_text(rows["Month"]),
            f"{prefix} Units": _number(rows["Compensable Units"]),
            f"{prefix} Amount": _number(rows["Amount"]),
            f"{prefix} Currency": _text(rows["Currency"]),
            f"{prefix} Reason": _text(rows["Reason"]),
            f"{prefix} Claim ID": _text(rows["Claim ID"]),
            f"{prefix} Customer": _text(rows["Customer"]),
            f"{prefix} Row": rows.index.to_numpy(),
        }
    ).dropna(subset=KEY)
    return frame.drop_duplicates(KEY, keep="first")


def _covered(months: pd.Series, imports: pd.DataFrame | None) -> pd.Series:
    """Whether an imported Earnings download covers each month."""
    covered = pd.Series(False, index=months.index)
    if imports is None or imports.empty:
        return covered
    earnings = imports[_text(imports["Report"]) == EARNINGS_REPORT]
    for start, end in zip(month_text(earnings["From Month"]), month_text(earnings["To Month"]), strict=True):
        if start is not None and end is not None:
            covered |= months.notna() & (months >= start) & (months <= end)
    return covered


def reconcile(
    ledger: pd.DataFrame,
    microsoft: pd.DataFrame,
    imports: pd.DataFrame | None,
    associations: pd.DataFrame,
) -> Reconciliation:
    """Compare the Earnings Ledger with Microsoft Earnings (see the module's docstring).

    ``ledger``: Earnings Ledger rows (the SPEC's columns; Month a date or "YYYY-MM"). ``microsoft``: Microsoft
    Earnings rows (MS_EARNINGS_HEADER columns), index = its Excel row. ``imports``: Earnings Imports rows
    (Report, From Month, To Month). ``associations``: Claim ID, Tenant ID, Workload, index = Excel row.
    """
    merged = (
        _ledger(ledger)
        .merge(_microsoft(microsoft, EARNED, "Earned"), on=KEY, how="outer")
        .merge(_microsoft(microsoft, INELIGIBLE, "Ineligible"), on=KEY, how="outer")
    )
    in_ledger = merged["_ledger"].eq(True)
    earned = merged["Earned Row"].notna()
    ineligible = merged["Ineligible Row"].notna() & ~earned
    expected = in_ledger & (merged["Paid Users"].fillna(0) > 0)
    covered = _covered(merged["Month"], imports)
    keep = earned | ineligible | (in_ledger & covered)
    merged = merged[keep]
    in_ledger, earned, ineligible, expected, covered = (
        in_ledger[keep],
        earned[keep],
        ineligible[keep],
        expected[keep],
        covered[keep],
    )
    merged = pd.concat([merged, _associations_of(merged, associations)], axis=1)
    units = merged["Earned Units"].where(earned, merged["Ineligible Units"])
    same_units = units.fillna(-1) == merged["Paid Users"].fillna(0)
    code = np.select(
        [expected & earned & ~same_units, expected & ineligible, expected & ~earned & ~ineligible & covered,
         ~expected & earned],
        ["earnings-differ", "earnings-ineligible", "earnings-missing", "earnings-unexpected"],
        default="",
    )  # fmt: skip
    agrees = np.where(code == "", "Yes", "No")
    ms_reason = merged["Ineligible Reason"].where(ineligible)
    words = ms_reason.map(lambda r: in_words(r) if isinstance(r, str) else ("", ""))
    rows = pd.DataFrame(
        {
            "Tenant ID": merged["Tenant ID"],
            "Customer": merged["Customer"]
            .fillna(merged["Earned Customer"])
            .fillna(merged["Ineligible Customer"]),
            "Workload": merged["Workload"],
            "Month": merged["Month"],
            "Claim ID": merged["Claim ID"].fillna(merged["Earned Claim ID"]).fillna(merged["_assoc_claim"]),
            "Partner ID": merged["Partner ID"].fillna(merged["_assoc_partner"]),
            "Paid Users": merged["Paid Users"].where(in_ledger),
            "Amount": merged["Amount"],
            "Currency": merged["Currency"],
            "Reason": merged["Reason"],
            "Microsoft": np.select([earned, ineligible], [EARNED, INELIGIBLE], default="no row"),
            "Microsoft Units": units,
            "Microsoft Amount": merged["Earned Amount"].where(earned),
            "Microsoft Currency": merged["Earned Currency"].where(earned),
            "Microsoft Reason": ms_reason,
            "In Words": words.map(lambda w: w[0]),
            "Partner Can Act": words.map(lambda w: w[1]),
            "Agrees": agrees,
            "Note": [_note(c, in_l) for c, in_l in zip(code, in_ledger, strict=True)],
        }
    )
    rows = rows.sort_values(KEY, kind="stable").reset_index(drop=True)
    findings = _findings(merged.assign(_code=code, _units=units))
    return Reconciliation(rows.reindex(columns=list(RECONCILIATION_HEADER)), findings)


def _note(code: str, in_ledger: bool) -> str:
    if code:
        return code
    return "" if in_ledger else "not in the Earnings Ledger"


def per_partner(rows: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Expected (the ledger's Amount) against paid (Microsoft's Amount) per Partner ID and currency over the
    months of a Reconciliation, with how many months were compared and how many disagree. A month without a
    ledger row counts for the partner of its association row ("" when it has none)."""
    if rows is None or rows.empty:
        return []
    frame = pd.DataFrame(
        {
            "partner_id": _text(rows["Partner ID"]).fillna(""),
            "currency": _text(rows["Currency"]).fillna(_text(rows["Microsoft Currency"])).fillna(""),
            "expected": _number(rows["Amount"]).fillna(0.0),
            "paid": _number(rows["Microsoft Amount"]).fillna(0.0),
            "disagree": rows["Agrees"].eq("No"),
        }
    )
    # a month with no amount either side (an ineligible month nobody expected) has no currency: the partner's
    known = frame[frame["currency"] != ""].drop_duplicates("partner_id").set_index("partner_id")["currency"]
    blank = frame["currency"] == ""
    frame.loc[blank, "currency"] = frame.loc[blank, "partner_id"].map(known).fillna("")
    table = frame.groupby(["partner_id", "currency"], sort=True).agg(
        months=("disagree", "size"),
        disagree=("disagree", "sum"),
        expected=("expected", "sum"),
        paid=("paid", "sum"),
    )
    return [
        {
            "partner_id": partner,
            "currency": currency,
            "months": int(r["months"]),
            "disagree": int(r["disagree"]),
            "expected": round(float(r["expected"]), 2),
            "paid": round(float(r["paid"]), 2),
        }
        for (partner, currency), r in zip(table.index, table.to_dict("records"), strict=True)
    ]


def _associations_of(merged: pd.DataFrame, associations: pd.DataFrame) -> pd.DataFrame:
    """Per month, its association row (the ledger's claim, else Microsoft's claimId, else the tenant's latest row
    for the workload): ``_assoc`` (Excel row, NaN when none), ``_assoc_claim`` and ``_assoc_partner``."""
    assoc = pd.DataFrame(
        {
            "Claim ID": _text(associations["Claim ID"]),
            "Tenant ID": _text(associations["Tenant ID"]).str.lower(),
            "Workload": _text(associations["Workload"]),
            "Partner ID": _text(associations["Partner ID"]) if "Partner ID" in associations else None,
            "_row": associations.index.to_numpy(),
        }
    )
    assoc["_claim"] = assoc["Claim ID"]
    columns = ["_row", "_claim", "Partner ID"]
    claims = assoc.dropna(subset=["Claim ID", "Workload"]).drop_duplicates(["Claim ID", "Workload"])
    latest = assoc.dropna(subset=["Tenant ID", "Workload"]).drop_duplicates(
        ["Tenant ID", "Workload"], keep="last"
    )
    claim = merged["Claim ID"].fillna(merged["Earned Claim ID"])
    wanted_claim = pd.MultiIndex.from_arrays([claim, merged["Workload"]])
    wanted_tenant = pd.MultiIndex.from_arrays([merged["Tenant ID"], merged["Workload"]])
    found = claims.set_index(["Claim ID", "Workload"])[columns].reindex(wanted_claim).reset_index(drop=True)
    by_tenant = (
        latest.set_index(["Tenant ID", "Workload"])[columns].reindex(wanted_tenant).reset_index(drop=True)
    )
    missing = found["_row"].isna()
    found.loc[missing] = by_tenant.loc[missing]
    return pd.DataFrame(
        {
            "_assoc": found["_row"].to_numpy(),
            "_assoc_claim": found["_claim"].to_numpy(),
            "_assoc_partner": found["Partner ID"].to_numpy(),
        },
        index=merged.index,
    )


def _findings(merged: pd.DataFrame) -> list[Finding]:
    hits = merged[merged["_code"] != ""].copy()
    if hits.empty:
        return []
    hits["_ms_row"] = hits["Earned Row"].fillna(hits["Ineligible Row"])
    hits["_claim"] = hits["Claim ID"].fillna(hits["Earned Claim ID"]).fillna(hits["_assoc_claim"])
    findings: list[Finding] = []
    for key, group in hits.groupby(["_assoc", "_code"], sort=True, dropna=False):
        assoc_row, code = cast("tuple[float, str]", key)
        group = group.sort_values("Month")
        claim = next((c for c in group["_claim"] if isinstance(c, str)), None)
        if pd.notna(assoc_row):
            text = _message(code, group)
            findings.append(
                Finding(code, ASSOCIATIONS.name, text, row=int(assoc_row), column="Workload", claim_id=claim)
            )
            continue
        for _, one in group.iterrows():  # no association row: each month on its Microsoft Earnings row
            row = None if pd.isna(one["_ms_row"]) else int(one["_ms_row"])
            text = _message(code, one.to_frame().T)
            findings.append(
                Finding(code, MS_EARNINGS_SHEET, text, row=row, column="Workload", claim_id=claim)
            )
    return findings


def _users(value: Any) -> str:
    return "no" if value is None or pd.isna(value) else f"{int(value)}"


def _message(code: str, group: pd.DataFrame) -> str:
    first = group.iloc[0]
    what = f"{first['Workload']} of tenant {first['Tenant ID']}"
    if code == "earnings-ineligible":
        parts = []
        for _, r in group.iterrows():
            words, act = in_words(str(r["Ineligible Reason"] or ""))
            parts.append(
                f"{r['Month']} {r['Ineligible Reason'] or '(no reason given)'}: {words or 'no reason given'}; "
                f"the partner can act: {act or 'unknown'} (the tool expected {_users(r['Paid Users'])} users)"
            )
        return (
            f"Microsoft calls {what} ineligible where the Earnings Ledger expects pay: "
            + "; ".join(parts)
            + "."
        )
    if code == "earnings-missing":
        months = ", ".join(f"{r['Month']} ({_users(r['Paid Users'])} users)" for _, r in group.iterrows())
        return (
            f"Microsoft has no row for {what} in {months}, though an imported Earnings download covers those "
            "months and the Earnings Ledger expects pay: ask Microsoft through Partner Center support."
        )
    if code == "earnings-differ":
        months = ", ".join(
            f"{r['Month']} Microsoft {_users(r['_units'])}, the tool {_users(r['Paid Users'])}"
            for _, r in group.iterrows()
        )
        return f"Microsoft paid {what} for another number of users: {months} (compensable units against Paid Users)."
    months = ", ".join(
        f"{r['Month']} ({_users(r['_units'])} users"
        + (
            ""
            if pd.isna(r["Earned Amount"])
            else f", {r['Earned Amount']:.2f} {r['Earned Currency'] or ''}".rstrip()
        )
        + (f"; the ledger: {r['Reason']}" if isinstance(r["Reason"], str) else "; not in the Earnings Ledger")
        + ")"
        for _, r in group.iterrows()
    )
    return f"Microsoft paid {what} for months the Earnings Ledger does not expect paid: {months}."
