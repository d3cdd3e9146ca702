"""Commands on one workbook: check and run."""
