"""Whole numbers written as text: in a query string, a form, a header, a label or an annotation.

`str.isdigit()` is true of "²" and "٣" too: int() refuses the first (a 500 where a 400 belongs) and
reads the second as 3. These take ASCII digits only, and an id only within PostgreSQL's bigint.
"""

import re

_DIGITS = re.compile(r"[0-9]+")
BIGINT_MAX = 2**63 - 1


def digits(value) -> bool:
    """Whether `value` is text of ASCII digits only."""
    return isinstance(value, str) and _DIGITS.fullmatch(value) is not None


def as_id(value) -> int | None:
    """The row id `value` writes (an int, or ASCII digits), or None: not a number, or beyond any id."""
    if isinstance(value, bool):
        return None
    number = value if isinstance(value, int) else int(value) if digits(value) else None
    return number if number is not None and 0 < number <= BIGINT_MAX else None
