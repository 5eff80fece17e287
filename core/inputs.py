"""Typed parsing of untrusted text, one function per type, with bounds that fit both databases.

Pure functions (no Flask): the web layer (blueprints/inputs.py) turns their failures into 400/404
responses; core cleaners use them for form fields. Every parser reads ASCII digits only: Python's
int() and str.isdigit() accept '²' or '١٢', which are not numbers anyone typed on purpose (and
'²'.isdigit() is True while int('²') raises)."""
import datetime as dt
import re

# peewee's AutoField and IntegerField are `integer` (int4) on PostgreSQL: a larger value fails
# there with "integer out of range" (and past 2^63 with OverflowError on SQLite).
INT_MAX = 2**31 - 1
# Dates a counseling record can sensibly carry; keeps date arithmetic (start + timeframe) far
# from date.max.
MIN_YEAR, MAX_YEAR = 1900, 2200
MIN_DATE, MAX_DATE = dt.date(MIN_YEAR, 1, 1), dt.date(MAX_YEAR, 12, 31)

_ASCII_INT = re.compile(r"[0-9]{1,10}")
_ASCII_SIGNED = re.compile(r"-?[0-9]{1,10}")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# C0 controls and DEL, except tab, newline and carriage return (which forms legitimately carry).
# PostgreSQL refuses NUL in text outright; the others have no place in a record either.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone surrogates cannot be encoded to UTF-8 (the database driver would raise).
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class InputError(ValueError):
    """An input that is not of its type or out of its bounds; the message is for the user."""


def parse_int(value, lo: int = 0, hi: int = INT_MAX):
    """ASCII digits (an optional minus sign when lo < 0) within lo..hi, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not (_ASCII_SIGNED if lo < 0 else _ASCII_INT).fullmatch(text):
            return None
        number = int(text)
    return number if lo <= number <= hi else None


def parse_id(value):
    """A row id: 1..2^31-1 (a PostgreSQL `integer`), else None."""
    return parse_int(value, 1, INT_MAX)


def parse_version(value):
    """A row version counter: 0..2^31-1, else None (callers treat None as 'no version sent')."""
    return parse_int(value, 0, INT_MAX)


def parse_ids(values, limit: int = 1000) -> list[int]:
    """The valid ids among `values` (a getlist()), in order, without duplicates; others dropped."""
    seen, out = set(), []
    for value in list(values or [])[:limit]:
        number = parse_id(value)
        if number is not None and number not in seen:
            seen.add(number)
            out.append(number)
    return out


def parse_date(value, lo: dt.date = MIN_DATE, hi: dt.date = MAX_DATE):
    """YYYY-MM-DD in ASCII digits within lo..hi; None for empty; InputError otherwise."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    match = _ISO_DATE.fullmatch(text)
    if not match:
        raise InputError("Use the form YYYY-MM-DD.")
    try:
        day = dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise InputError("That date does not exist. Use the form YYYY-MM-DD.") from None
    if not lo <= day <= hi:
        raise InputError(f"Use a date between {lo.isoformat()} and {hi.isoformat()}.")
    return day


def add_days(day: dt.date, days: int):
    """`day` + `days`, or None when the result leaves the sane range (never OverflowError)."""
    try:
        result = day + dt.timedelta(days=days)
    except OverflowError:
        return None
    return result if MIN_DATE <= result <= MAX_DATE else None


def text_problem(value) -> str | None:
    """Why `value` cannot be stored as text (NUL/control characters, broken Unicode), or None."""
    if not isinstance(value, str):
        return None
    if _CONTROL.search(value):
        return "contains control characters (such as NUL) that cannot be stored"
    if _SURROGATE.search(value):
        return "contains broken Unicode that cannot be stored"
    return None


def clean_text(value, max_len: int | None = None) -> str:
    """Stripped text; InputError when it cannot be stored, or is longer than `max_len`."""
    text = str(value if value is not None else "").strip()
    problem = text_problem(text)
    if problem:
        raise InputError("The text " + problem + ".")
    if max_len is not None and len(text) > max_len:
        raise InputError(f"At most {max_len} characters.")
    return text
