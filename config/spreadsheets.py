"""Safe cell values for every XLSX and CSV export (OWASP "CSV injection", ASVS 1.2.10)."""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# A spreadsheet reads these as the start of a formula; tab, carriage return, newline and NUL
# are listed because some programs skip them before looking.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def neutralise_cell(value: str) -> str:
    """The value, prefixed with ' if a spreadsheet could take it for a formula, without control characters."""
    # openpyxl refuses control characters (NUL included): drop them, and judge both forms.
    cleaned = ILLEGAL_CHARACTERS_RE.sub("", value)
    if any(
        text.lstrip().startswith(FORMULA_TRIGGERS) or text.startswith(FORMULA_TRIGGERS) for text in (value, cleaned)
    ):
        return "'" + cleaned
    return cleaned
