"""Merge Partner Center's earnings downloads into the workbook's Microsoft Earnings sheet (`cpor-excel
import-earnings`).

Reads the *Ineligible revenue usage details* and the *Earnings* (Default) downloads as they come (any encoding,
delimiter or XLSX: the reader `import-usage` uses), keeps their Modern Work usage rows, and upserts one row per
tenant, workload, month and kind (Earned or Ineligible) into the **Microsoft Earnings** tool sheet; the period
each download covers goes into **Earnings Imports**, so a run can tell a month Microsoft did not pay from a month
no download covered. Nothing else in the workbook is touched; importing the same download again changes nothing.
"""

from cpor_excel.earnings_import.downloads import EARNINGS_REPORT, FIELDS, INELIGIBLE_REPORT
from cpor_excel.earnings_import.merge import (
    EarningsImportResult,
    EarningsSheetUnusable,
    import_earnings,
    merge_earnings,
)
from cpor_excel.earnings_import.plan import EarningsPlan, plan_earnings
from cpor_excel.earnings_import.report import EarningsDownload, NotAnEarningsReport, read_earnings

__all__ = [
    "EARNINGS_REPORT",
    "FIELDS",
    "INELIGIBLE_REPORT",
    "EarningsDownload",
    "EarningsImportResult",
    "EarningsPlan",
    "EarningsSheetUnusable",
    "NotAnEarningsReport",
    "import_earnings",
    "merge_earnings",
    "plan_earnings",
    "read_earnings",
]
