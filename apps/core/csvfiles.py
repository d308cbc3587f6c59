"""The one CSV writer of every export, and its inverse for imports.

Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return before one) as a
formula, and most of what we export (names, descriptions, endpoints, audit actions) is chosen by
users. Every text cell that could start a formula gets a leading apostrophe, which spreadsheets show
as text. A cell that already starts with apostrophes before such a character gets one more, so
`cell_text` can undo exactly what `cell` did and an export imports back unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence

from django.core.serializers.json import DjangoJSONEncoder

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Full-width and other compatibility forms (＝, ＋, ﹢) count too: some spreadsheets fold them first.
_STARTS = r"[=+\-@\t\r\uff1d\uff0b\uff0d\uff20\ufe62\ufe63\ufe66\u2212]"
_NEEDS_QUOTE = re.compile(rf"'*{_STARTS}")
_QUOTED = re.compile(rf"'+{_STARTS}")


def cell(value) -> str:
    """A value as a CSV cell no spreadsheet runs: numbers as they are, objects and lists as JSON,
    text with a leading apostrophe when it could start a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list | tuple):
        value = json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)
    text = str(value)
    return f"'{text}" if _NEEDS_QUOTE.match(text) else text


def cell_text(text: str) -> str:
    """What `cell` was given, for a cell it wrote (imports of our own exports)."""
    return text[1:] if isinstance(text, str) and _QUOTED.match(text) else text


def write_csv(out, columns: Sequence[str], rows: Iterable[Mapping | Sequence]) -> None:
    """A header and one line per row (a mapping by column name, or values in column order) to `out`,
    any file-like object with write(): a StringIO, an HttpResponse."""
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        values = [row.get(column) for column in columns] if isinstance(row, Mapping) else row
        writer.writerow([cell(value) for value in values])


def csv_text(columns: Sequence[str], rows: Iterable[Mapping | Sequence]) -> str:
    out = io.StringIO()
    write_csv(out, columns, rows)
    return out.getvalue()
