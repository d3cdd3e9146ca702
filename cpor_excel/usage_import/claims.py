"""A CPOR-M365 usage report's claims checked against the workbook's Associations (pure; the rows are imported
whatever this finds).

The report names, per row, the claim (ClaimId), the partner (MpnId) and when the workload was associated
(DateAssociated). Three things are worth a partner's attention:
- ``claim-not-in-workbook``: the claim, or that workload of it, has no Associations row;
- ``claim-partner-differs``: Associations gives the claim another Partner ID;
- ``claim-date-differs``: DateAssociated falls in another month than the claim's Approved date (or the row
  has none): the tool counts usage from the month after Approved, so one of the two is wrong.
A claim repeats on every month's row: each problem is reported once, at its first row, with how many more.
"""

from __future__ import annotations

import pandas as pd

from cpor_excel.model.findings import Finding
from cpor_excel.model.workbook import SheetTable
from cpor_excel.rules import values as cell_values
from cpor_excel.usage_import.cells import cell_finding
from cpor_excel.usage_import.export import UsageExport
from cpor_excel.usage_import.kinds import CLAIM_ID, CPOR_M365, DATE_ASSOCIATED, PARTNER_ID


def _claims(associations: SheetTable | None) -> pd.DataFrame:
    """Claim ID (text), Workload (canonical), Partner ID (digits), Approved ("YYYY-MM") of each Associations row
    `check` can read; the first row of a (Claim ID, Workload) pair."""
    columns = [CLAIM_ID, "Workload", PARTNER_ID, "Approved", "_assoc_row"]
    if associations is None or not {CLAIM_ID, "Workload"} <= set(associations.frame.columns):
        return pd.DataFrame(columns=columns)
    frame = associations.frame
    approved = (
        cell_values.parse_date(frame["Approved"]).values
        if "Approved" in frame
        else pd.Series(pd.NaT, index=frame.index)
    )
    table = pd.DataFrame(
        {
            CLAIM_ID: cell_values.parse_text(frame[CLAIM_ID]).values,
            "Workload": cell_values.parse_workload(frame["Workload"]).values,
            PARTNER_ID: cell_values.parse_partner_id(frame[PARTNER_ID]).values
            if PARTNER_ID in frame
            else None,
            "Approved": approved.dt.strftime("%Y-%m").astype(object).where(approved.notna(), None),
            "_assoc_row": frame.index,
        },
        index=frame.index,
    ).dropna(subset=[CLAIM_ID, "Workload"])
    return table.drop_duplicates([CLAIM_ID, "Workload"], keep="first")


def check_claims(export: UsageExport, associations: SheetTable | None) -> list[Finding]:
    """Findings on the report's rows (sheet = the report's file name) for claims that do not match."""
    rows = export.rows
    if export.kind != CPOR_M365 or rows.empty or CLAIM_ID not in rows:
        return []
    report = pd.DataFrame(
        {
            CLAIM_ID: rows[CLAIM_ID].map(cell_values.text_of, na_action="ignore"),
            "Workload": rows["Workload"],
            "MpnId": rows[PARTNER_ID].map(cell_values.partner_id_of, na_action="ignore"),
            "Given MpnId": rows[PARTNER_ID].map(cell_values.text_of, na_action="ignore"),
            DATE_ASSOCIATED: rows[DATE_ASSOCIATED],
            "_entry": rows.index,
        }
    ).dropna(subset=[CLAIM_ID])
    claims = _claims(associations)
    merged = report.merge(claims, on=[CLAIM_ID, "Workload"], how="left", sort=False)
    known_claims = set(claims[CLAIM_ID])
    missing = merged["_assoc_row"].isna()
    found = merged[~missing]
    partner_differs = found["Given MpnId"].notna() & (found["MpnId"] != found[PARTNER_ID])
    date_differs = found[DATE_ASSOCIATED].notna() & (found[DATE_ASSOCIATED] != found["Approved"])

    def message_missing(row: pd.Series) -> str:
        if row[CLAIM_ID] in known_claims:
            return (
                f"Claim {row[CLAIM_ID]} has no {row['Workload']} row in Associations, but Partner Center "
                "associates that workload with it: add the row, or check the claim."
            )
        return (
            f"Claim {row[CLAIM_ID]} ({row['Workload']}) is not in Associations: add the claim, or check its "
            "ClaimId."
        )

    def message_partner(row: pd.Series) -> str:
        return (
            f"Partner Center gives claim {row[CLAIM_ID]} MpnId {row['Given MpnId']}, Associations row "
            f"{int(row['_assoc_row'])} Partner ID {row[PARTNER_ID] or '(none)'}: correct the one that is wrong."
        )

    def message_date(row: pd.Series) -> str:
        approved = row["Approved"]
        workbook = f"an Approved date in {approved}" if approved else "no Approved date"
        return (
            f"Partner Center associated {row['Workload']} of claim {row[CLAIM_ID]} in {row[DATE_ASSOCIATED]}; "
            f"Associations row {int(row['_assoc_row'])} has {workbook}: usage counts from the month after "
            "approval, so correct the one that is wrong."
        )

    findings: list[Finding] = []
    for code, mask, column, message in (
        ("claim-not-in-workbook", missing, CLAIM_ID, message_missing),
        ("claim-partner-differs", ~missing & partner_differs.reindex(merged.index, fill_value=False), PARTNER_ID,
         message_partner),
        ("claim-date-differs", ~missing & date_differs.reindex(merged.index, fill_value=False), DATE_ASSOCIATED,
         message_date),
    ):  # fmt: skip
        hits = merged[mask]
        if hits.empty:
            continue
        for _, group in hits.groupby([CLAIM_ID, "Workload"], sort=False):
            first = group.iloc[0]
            text = message(first)
            if len(group) > 1:
                text += f" (and {len(group) - 1} more rows of the report)"
            entry = int(first["_entry"])
            col = export.positions.get(column, 0)
            findings.append(cell_finding(code, export.source, export.export_row(entry), col, column, text))
    findings.sort(key=lambda f: (f.row or 0, f.cell or ""))
    return findings
