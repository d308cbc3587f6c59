"""Long lists read a page at a time, newest first: keyset pagination on id, so the hundredth page costs
what the first does and a row added meanwhile neither repeats nor hides one."""

from dataclasses import dataclass
from typing import Any

from .numbers import as_id


@dataclass
class Page:
    rows: list[Any]
    older: int | None  # the id to continue before, when there are older rows


def _key(row) -> int:
    return row["pk"] if isinstance(row, dict) else row.pk


def newest_first(rows, *, before: str | None, size: int, read=list) -> Page:
    """The `size` newest of `rows` older than the id `before` (`?before=` as given: anything but digits
    reads from the newest); `read` turns the sliced queryset into the rows shown (`list` by default)."""
    if older_than := as_id(before):
        rows = rows.filter(id__lt=older_than)
    shown = read(rows.order_by("-id")[: size + 1])
    return Page(shown[:size], _key(shown[size - 1]) if len(shown) > size else None)
