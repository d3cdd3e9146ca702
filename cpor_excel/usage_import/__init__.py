"""Merge a Partner Center usage export into the workbook's Usage sheet (`cpor-excel import-usage`).

The export is read as downloaded: CSV in UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or
Windows-1252 (Excel's plain "CSV" on Western Windows), comma, semicolon, tab or pipe delimited, or an XLSX
workbook. Its header row is found among the first rows by the same folded names and aliases the Usage
sheet accepts, so columns may come in any order and extra columns are ignored.

Rows are upserted by (Tenant ID, canonical workload, month):
- an existing Usage row gets its Active Users and Paid Units cells set, and only the cells whose value changes;
- a new row is appended after the last used row in the sheet's own column order, its user columns left
  empty. Month is written as "YYYY-MM" text whatever kind of value the sheet's other rows hold: it is what
  the tool writes everywhere (docs/architecture.md; the patch writer writes any date as ISO text, never as
  a styled date serial), it sorts and filters in Excel like a date, and `check` reads it as the same month.
Existing rows are matched with the cell parsers `check` uses (rules/values.py): a row `check` cannot read
matches nothing, and `check` reports it.
Rows that cannot be imported are skipped and reported as findings on the export: ``sheet`` is the export's
file name, ``row`` its row as Excel shows the file (header row included), ``cell`` the export's cell.
Nothing else in the workbook is touched; a re-import of the same export changes nothing.
"""

from cpor_excel.usage_import.cells import GUID, normalise_tenant, parse_counts
from cpor_excel.usage_import.columns import COUNTS, CUSTOMER_COLUMNS, HEADER_NAMES, KEY, USAGE_COLUMNS
from cpor_excel.usage_import.export import UsageExport, read_export
from cpor_excel.usage_import.export_file import DELIMITERS, HEADER_SCAN_ROWS, NotAUsageExport
from cpor_excel.usage_import.merge import (
    ImportResult,
    UsageSheetUnusable,
    import_usage,
    merge_usage,
    rows_in_sheet_order,
)
from cpor_excel.usage_import.months import EXCEL_EPOCH, MONTH_NAMES, SERIAL_RANGE, parse_months
from cpor_excel.usage_import.plan import UsagePlan, plan_import

__all__ = [
    "COUNTS",
    "CUSTOMER_COLUMNS",
    "DELIMITERS",
    "EXCEL_EPOCH",
    "GUID",
    "HEADER_NAMES",
    "HEADER_SCAN_ROWS",
    "KEY",
    "MONTH_NAMES",
    "SERIAL_RANGE",
    "USAGE_COLUMNS",
    "ImportResult",
    "NotAUsageExport",
    "UsageExport",
    "UsagePlan",
    "UsageSheetUnusable",
    "import_usage",
    "merge_usage",
    "normalise_tenant",
    "parse_counts",
    "parse_months",
    "plan_import",
    "read_export",
    "rows_in_sheet_order",
]
