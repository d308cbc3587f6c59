"""Resource quantities (`250m`, `1.5`, `128Mi`, `1e3`) as exact fractions, for quota and limit arithmetic."""

import re
from fractions import Fraction

_SUFFIXES = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")


def parse(value) -> Fraction:
    """The quantity's value; ValueError for anything Kubernetes would reject."""
    if isinstance(value, (int, float)):
        return Fraction(value)
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(f"quantities must match the regular expression '{_QUANTITY.pattern}'")
    number, exponent, suffix = match.groups()
    amount = Fraction(number)
    if exponent:
        return amount * Fraction(10) ** int(exponent[1:])
    return amount * _SUFFIXES[suffix or ""]


def format_cpu(value: Fraction) -> str:
    """Whole cores as `2`, anything finer in millicores (`1500m`), as kubectl shows them."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{int(value * 1000)}m"


def format_bytes(value: Fraction) -> str:
    """The largest binary suffix that divides the amount exactly (`512Mi`), else plain bytes."""
    amount = int(value)
    if amount == 0:
        return "0"
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _SUFFIXES[suffix]
        if amount % unit == 0:
            return f"{amount // unit}{suffix}"
    return str(amount)


def format_for(resource: str, value: Fraction) -> str:
    if resource.endswith("cpu"):
        return format_cpu(value)
    if resource.endswith(("memory", "storage")):
        return format_bytes(value)
    return str(int(value)) if value.denominator == 1 else format_cpu(value)
