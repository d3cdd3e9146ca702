"""The batch report for people: ``PATH.xlsx`` (sheets to filter and sort) and ``PATH.html`` (to read and mail
around: per-partner tables and a chart of milestones per month, no external resource, no network).

Both are drawn from one set of numbers (``report_data``), so the two files always agree.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import jinja2
import pandas as pd

from cpor_excel.errors import CporError
from cpor_excel.version import __version__

if TYPE_CHECKING:
    from cpor_excel.batch.run import BatchResult

TEMPLATE = "batch_report.html.j2"
#: months shown in the chart: the most recent ones, so a long history still fits a page
CHART_MONTHS = 36

#: (header, key) of each table, shared by the xlsx sheets and the HTML tables
WORKBOOK_COLUMNS = (
    ("Workbook", "workbook"), ("Status", "status"), ("Errors", "errors"), ("Warnings", "warnings"),
    ("Infos", "infos"), ("Conflicts", "conflicts"), ("New Milestones", "new_milestones"),
    ("New Usage Months", "new_usage_months"), ("Drafts", "drafts"), ("Seconds", "seconds"), ("Message", "message"), ("Path", "path"),
)  # fmt: skip
CONFLICT_COLUMNS = (
    ("Workbook", "workbook"), ("Row", "row"), ("Claim ID", "claim_id"), ("Partner ID", "partner_id"),
    ("Tenant ID", "tenant_id"), ("Workload", "workload"), ("Other Workbook", "other_workbook"),
    ("Other Row", "other_row"), ("Other Claim ID", "other_claim_id"),
    ("Other Partner ID", "other_partner_id"), ("Newer POE", "newer_poe_claim_id"),
)  # fmt: skip
PARTNER_COLUMNS = (
    ("Partner ID", "partner_id"), ("Partner Name", "partner_name"), ("Workbook", "workbook"),
    ("Claims", "claims"), ("Workloads", "workloads"), ("Live Workloads", "live"),
    ("Conflicts", "conflicts"), ("Milestones Reached", "milestones"), ("New Milestones", "new_milestones"),
)  # fmt: skip
MONTH_COLUMNS = (
    ("Month", "month"), ("Earlier Runs", "earlier"), ("This Run", "this_run"), ("Total", "total"),
)  # fmt: skip
USAGE_COLUMNS = (
    ("Month", "month"), ("Partner ID", "partner_id"), ("Currency", "currency"),
    ("Paid Users, Earlier Runs", "earlier_users"), ("Paid Users, This Run", "this_run_users"),
    ("Amount, Earlier Runs", "earlier_amount"), ("Amount, This Run", "this_run_amount"),
)  # fmt: skip
RECONCILED_COLUMNS = (
    ("Partner ID", "partner_id"), ("Workbook", "workbook"), ("Currency", "currency"),
    ("Months Compared", "months"), ("Months That Disagree", "disagree"), ("Expected", "expected"),
    ("Paid by Microsoft", "paid"), ("Difference", "difference"),
)  # fmt: skip
COUNT_KEYS = ("errors", "warnings", "infos", "conflicts", "new_milestones", "new_usage_months", "drafts")


# ------------------------------------------------------------------------------------------------ numbers


def report_data(result: BatchResult) -> dict[str, Any]:
    """Every number the report shows, as plain rows (JSON-ready)."""
    workbooks = [_workbook_row(w) for w in result.workbooks]
    conflicts = [{key: c.get(key) for _, key in CONFLICT_COLUMNS} for c in result.conflicts]
    months = milestones_per_month(result)
    partners = partner_rows(result)
    return {
        "as_of": result.as_of.isoformat(),
        "dry_run": result.dry_run,
        "generated": dt.datetime.now().replace(microsecond=0).isoformat(sep=" "),
        "version": __version__,
        "totals": result.totals(),
        "workbooks": workbooks,
        "conflicts": conflicts,
        "partners": partners,
        "partner_groups": _group_partners(partners, conflicts),
        "months": months,
        "chart": chart_geometry(months),
        "usage": usage_pay_rows(result),
        "reconciled": reconciled_rows(result),
    }


def _workbook_row(w: Any) -> dict[str, Any]:
    counts = w.counts()
    row: dict[str, Any] = {"workbook": w.workbook, "status": w.status, "message": w.message, "path": w.path}
    row.update({k: None if counts is None else counts[k] for k in COUNT_KEYS})
    row["seconds"] = round(w.seconds, 2)
    return row


def _month_text(values: pd.Series) -> pd.Series:
    """Month Reached as written by any producer (date, 'YYYY-MM', 'YYYY-MM-DD') -> 'YYYY-MM'."""
    text = values.astype("string").str.slice(0, 10)  # "2025-04-01 00:00:00" -> "2025-04-01"; NA stays NA
    months = pd.to_datetime(text, errors="coerce", format="mixed")
    return months.dt.strftime("%Y-%m")


def _new_milestones(result: BatchResult) -> pd.DataFrame:
    rows = [
        {**m, "Workbook": w.workbook}
        for w in result.workbooks
        if w.report is not None
        for m in w.report.milestones
    ]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["Partner ID", "Month Reached", "Workbook"])


def milestones_per_month(result: BatchResult) -> list[dict[str, Any]]:
    """Milestones reached per month over every workbook: those already in the ledgers before this run, and
    those this run reached. Months without any are included (zero), so the chart's time axis is even."""
    earlier = (
        _month_text(result.ledger["Month Reached"]) if "Month Reached" in result.ledger else pd.Series([])
    )
    new = _new_milestones(result)
    this_run = _month_text(new["Month Reached"]) if "Month Reached" in new else pd.Series([], dtype=object)
    counts = pd.DataFrame(
        {"earlier": earlier.dropna().value_counts(), "this_run": this_run.dropna().value_counts()}
    ).fillna(0)
    if counts.empty:
        return []
    span = pd.period_range(min(counts.index), max(counts.index), freq="M").strftime("%Y-%m")
    counts = counts.reindex(span, fill_value=0).astype(int).tail(CHART_MONTHS)
    return [
        {
            "month": str(m),
            "earlier": int(r.earlier),
            "this_run": int(r.this_run),
            "total": int(r.earlier + r.this_run),
        }
        for m, r in counts.iterrows()
    ]


def usage_pay_rows(result: BatchResult) -> list[dict[str, Any]]:
    """Usage paid above the high-water mark per month, partner and currency: the Paid Users and Amount of the
    Earnings Ledgers before this run and of the months this run added (months that paid nothing left out)."""
    parts = []
    if not result.earnings.empty and "Month" in result.earnings:
        parts.append(result.earnings.assign(_run="earlier"))
    new = [
        {**e, "Workbook": w.workbook}
        for w in result.workbooks
        if w.report is not None
        for e in w.report.usage_earnings
    ]
    if new:
        parts.append(pd.DataFrame(new).assign(_run="this_run"))
    if not parts:
        return []
    rows = pd.concat(parts, ignore_index=True)
    rows = rows.assign(
        month=_month_text(rows["Month"]),
        partner_id=rows["Partner ID"].astype("string").fillna(""),
        currency=rows["Currency"].astype("string").fillna("") if "Currency" in rows else "",
        users=pd.to_numeric(rows["Paid Users"], errors="coerce").fillna(0),
        amount=pd.to_numeric(rows["Amount"], errors="coerce") if "Amount" in rows else float("nan"),
    )
    rows = rows[rows["users"] > 0].dropna(subset=["month"])
    if rows.empty:
        return []
    table = rows.pivot_table(
        index=["month", "partner_id", "currency"],
        columns="_run",
        values=["users", "amount"],
        aggfunc="sum",
        fill_value=0,
    )
    out = []
    for key, r in table.iterrows():  # one row per month and partner: small
        month, partner, currency = cast(tuple[str, str, str], key)
        out.append(
            {
                "month": str(month),
                "partner_id": str(partner),
                "currency": str(currency),
                "earlier_users": int(r.get(("users", "earlier"), 0)),
                "this_run_users": int(r.get(("users", "this_run"), 0)),
                "earlier_amount": round(float(r.get(("amount", "earlier"), 0)), 2),
                "this_run_amount": round(float(r.get(("amount", "this_run"), 0)), 2),
            }
        )
    return out


def reconciled_rows(result: BatchResult) -> list[dict[str, Any]]:
    """Expected (the Earnings Ledger) against paid (Microsoft Earnings) per partner, workbook and currency,
    over the months each workbook's run reconciled (``rules/reconciliation.per_partner``)."""
    rows = [
        {**p, "workbook": w.workbook, "difference": round(p["paid"] - p["expected"], 2)}
        for w in result.workbooks
        if w.report is not None
        for p in w.report.reconciliation
    ]
    return sorted(rows, key=lambda r: (r["partner_id"], r["workbook"], r["currency"]))


def partner_rows(result: BatchResult) -> list[dict[str, Any]]:
    """One row per partner and workbook: its claims, live workloads, conflicts and milestones."""
    claims = result.claims
    if claims.empty or "Partner ID" not in claims:
        return []
    from cpor_excel.rules.conflicts import live_mask

    claims = claims[claims["Partner ID"].notna()].copy()
    claims["_live"] = live_mask(claims, result.as_of) if "Status" in claims else False
    claims["_row"] = claims.index.to_numpy()
    group = ["Partner ID", "Workbook"]
    table = claims.groupby(group, sort=True).agg(
        claims=("Claim ID", "nunique"), workloads=("Workload", "size"), live=("_live", "sum")
    )
    names = claims.dropna(subset=["Partner Name"]) if "Partner Name" in claims else claims.iloc[0:0]
    partner_name = (
        names.groupby("Partner ID")["Partner Name"].agg(lambda s: s.value_counts().index[0])
        if not names.empty
        else pd.Series(dtype=object)
    )

    owner = {
        (wb, int(r)): p
        for wb, r, p in zip(claims["Workbook"], claims["_row"], claims["Partner ID"], strict=True)
    }
    conflict_keys = [
        (w.workbook, owner.get((w.workbook, f.row)))
        for w in result.workbooks
        if w.report is not None
        for f in w.report.findings
        if f.code == "association-conflict" and f.row is not None
    ]
    conflicts = pd.Series([p for _, p in conflict_keys], index=[wb for wb, _ in conflict_keys], dtype=object)
    table["conflicts"] = _count_by(conflicts.index, conflicts.to_numpy(), table.index)

    ledger = result.ledger
    earlier = (
        _count_by(ledger["Workbook"].to_numpy(), ledger["Partner ID"].astype(object).to_numpy(), table.index)
        if "Partner ID" in ledger and not ledger.empty
        else 0
    )
    new = _new_milestones(result)
    new_count = (
        _count_by(new["Workbook"].to_numpy(), new["Partner ID"].astype(str).to_numpy(), table.index)
        if not new.empty
        else 0
    )
    table["new_milestones"] = new_count
    table["milestones"] = table["new_milestones"] + earlier

    # a workbook not processed has no findings or new milestones to count: show blanks, not zeros
    processed = {w.workbook for w in result.processed}
    rows = []
    for r in table.reset_index().to_dict("records"):
        done = r["Workbook"] in processed
        rows.append(
            {
                "partner_id": str(r["Partner ID"]),
                "partner_name": str(partner_name.get(r["Partner ID"], "")),
                "workbook": str(r["Workbook"]),
                "claims": int(r["claims"]),
                "workloads": int(r["workloads"]),
                "live": int(r["live"]),
                "conflicts": int(r["conflicts"]) if done else None,
                "milestones": int(r["milestones"]),
                "new_milestones": int(r["new_milestones"]) if done else None,
            }
        )
    return rows


def _count_by(workbooks: Any, partners: Any, index: pd.Index) -> pd.Series:
    keys = pd.MultiIndex.from_arrays([pd.Index(partners, dtype=object), pd.Index(workbooks, dtype=object)])
    counts = pd.Series(1, index=keys).groupby(level=[0, 1]).sum()
    return counts.reindex(index, fill_value=0).astype(int)


def _group_partners(partners: list[dict[str, Any]], conflicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in partners:
        g = groups.setdefault(
            row["partner_id"],
            {
                "partner_id": row["partner_id"],
                "partner_name": row["partner_name"],
                "rows": [],
                "conflicts": [],
            },
        )
        g["rows"].append(row)
    for c in conflicts:
        for pid in {str(c.get("partner_id")), str(c.get("other_partner_id"))}:
            if pid in groups:
                groups[pid]["conflicts"].append(c)
    return list(groups.values())


def chart_geometry(months: list[dict[str, Any]]) -> dict[str, Any]:
    """Coordinates for the template's SVG bar chart (stacked: earlier runs below, this run on top)."""
    left, top, bottom, bar, gap, height = 44, 12, 48, 18, 8, 180
    peak = max((m["total"] for m in months), default=0)
    scale_max = max(1, _nice_ceiling(peak))
    bars = []
    for i, m in enumerate(months):
        x = left + gap + i * (bar + gap)
        h_earlier = height * m["earlier"] / scale_max
        h_new = height * m["this_run"] / scale_max
        y_earlier = top + height - h_earlier
        bars.append(
            {
                **m,
                "x": x,
                "label_x": x + bar / 2,
                "earlier_y": round(y_earlier, 2),
                "earlier_h": round(h_earlier, 2),
                "new_y": round(y_earlier - h_new, 2),
                "new_h": round(h_new, 2),
            }
        )
    ticks = [{"value": v, "y": round(top + height - height * v / scale_max, 2)} for v in _ticks(scale_max)]
    return {
        "width": left + gap + len(months) * (bar + gap) + 8,
        "height": top + height + bottom,
        "left": left,
        "top": top,
        "plot_height": height,
        "baseline": top + height,
        "bar": bar,
        "bars": bars,
        "ticks": ticks,
        "max": scale_max,
    }


def _nice_ceiling(value: int) -> int:
    """The next round number at or above ``value`` (1, 2, 5, 10, 20, 50, ...), for the chart's axis."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if value <= step * m:
                return step * m
        step *= 10


def _ticks(scale_max: int) -> list[int]:
    step = max(1, scale_max // 5) if scale_max >= 5 else 1
    return list(range(0, scale_max + 1, step))


# ------------------------------------------------------------------------------------------------- files


def report_paths(base: Path) -> tuple[Path, Path]:
    """``base.xlsx`` and ``base.html`` (a dot in the name, "batch.2025-11", is not a suffix to replace)."""
    return base.with_name(base.name + ".xlsx"), base.with_name(base.name + ".html")


def write_report(result: BatchResult, base: Path) -> list[Path]:
    """Write ``base.xlsx`` and ``base.html``; each appears complete or not at all."""
    data = report_data(result)
    xlsx, html = report_paths(base)
    try:
        write_xlsx(data, xlsx)
        write_html(data, html)
    except OSError as err:
        raise CporError(
            f"cannot write the batch report {base} ({err.strerror or err}): choose another --report path."
        ) from err
    return [xlsx, html]


@contextmanager
def _atomic(target: Path) -> Iterator[Path]:
    # a plain file in the same folder (so the rename is atomic) with the usual permissions, unlike mkstemp's 0600
    tmp = target.with_name(f".~{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_xlsx(data: dict[str, Any], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheets = (
        ("Workbooks", WORKBOOK_COLUMNS, data["workbooks"]),
        ("Conflicts", CONFLICT_COLUMNS, data["conflicts"]),
        ("Partners", PARTNER_COLUMNS, data["partners"]),
        ("Milestones by Month", MONTH_COLUMNS, data["months"]),
        ("Usage Pay by Month", USAGE_COLUMNS, data["usage"]),
        ("Expected and Paid", RECONCILED_COLUMNS, data["reconciled"]),
    )
    book.remove(book.active)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append([header for header, _ in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for r, row in enumerate(rows, start=2):
            for c, (_, key) in enumerate(columns, start=1):
                # an empty text is an empty cell (an inline string without text is invalid in Excel)
                cell = sheet.cell(r, c, row.get(key) if row.get(key) != "" else None)
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # names and messages starting with "=" stay text, never a formula
        sheet.freeze_panes = "A2"
        if rows:
            sheet.auto_filter.ref = sheet.dimensions
        for c, (header, key) in enumerate(columns, start=1):
            longest = max([len(header), *(len(str(row.get(key) or "")) for row in rows[:500])])
            sheet.column_dimensions[sheet.cell(1, c).column_letter].width = min(60, longest + 2)
    with _atomic(path) as tmp:
        book.save(tmp)


def render_html(data: dict[str, Any]) -> str:
    source = importlib.resources.files("cpor_excel.templates").joinpath(TEMPLATE).read_text(encoding="utf-8")
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return env.from_string(source).render(
        **data,
        workbook_columns=WORKBOOK_COLUMNS,
        conflict_columns=CONFLICT_COLUMNS,
        partner_columns=PARTNER_COLUMNS,
        usage_columns=USAGE_COLUMNS,
        reconciled_columns=RECONCILED_COLUMNS,
        count_keys=COUNT_KEYS,
    )


def write_html(data: dict[str, Any], path: Path) -> None:
    text = render_html(data)
    with _atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
