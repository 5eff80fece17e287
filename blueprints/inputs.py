"""The one input layer of the web side: typed readers for path, query and form parameters, and the
request-wide refusal of text that cannot be stored. Every failure is a 400 (or 404 for a path)
with a message that says what was wrong, never a 500.

- `<int:...>` in every route is `BoundedInt` (registered app-wide by init_app): ASCII digits
  within a PostgreSQL `integer`, so /clients/9223372036854775808 or /clients/² is a plain 404.
- `arg_id`, `arg_int`, `form_id`, `form_int`, `form_version`, `form_ids`, `arg_date`: read one
  parameter; absent or empty gives the default, present but malformed gives 400.
- `refuse_control_characters` (before every request): NUL and other C0 controls (tab, newline and
  CR excepted) in any query argument, form field, file name or path part are refused with 400,
  not stripped: a browser never sends them from a typed form, and silently changing what someone
  submitted to a clinical record is worse than saying no. PostgreSQL cannot store NUL at all.
"""
from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, ValidationError

from core.inputs import (INT_MAX, InputError, add_days, clean_text, parse_date, parse_id,  # noqa: F401
                         parse_ids, parse_int, parse_version, text_problem)


class BadInput(BadRequest):
    """A parameter that is not of its type; `description` is shown to the user."""


class BoundedInt(IntegerConverter):
    """Flask's `int` converter, but ASCII digits only (its \\d+ matches '²', then int() fails)
    and at most a PostgreSQL `integer`: larger ids cannot exist, so they are a 404."""
    regex = r"[0-9]{1,10}"

    def to_python(self, value: str):
        lo = self.min if self.min is not None else 0
        hi = min(self.max, INT_MAX) if self.max is not None else INT_MAX
        number = parse_int(value, lo, hi)
        if number is None:
            raise ValidationError()
        return number


def _bad(where: str, name: str, what: str):
    raise BadInput(f"The {where} “{name[:40]}” is not {what}. Reload the page and try again; "
                   "nothing was saved.")


def _read(source, where, name, parser, what, default):
    raw = source.get(name)
    if raw is None or not raw.strip():
        return default
    value = parser(raw)
    if value is None:
        _bad(where, name, what)
    return value


def arg_id(name: str, default=None):
    return _read(request.args, "address parameter", name, parse_id, "a valid reference", default)


def arg_int(name: str, default=None, lo: int = 0, hi: int = INT_MAX):
    return _read(request.args, "address parameter", name, lambda v: parse_int(v, lo, hi),
                 f"a whole number from {lo} to {hi}", default)


def form_id(name: str, default=None):
    return _read(request.form, "form field", name, parse_id, "a valid choice", default)


def form_int(name: str, default=None, lo: int = 0, hi: int = INT_MAX):
    return _read(request.form, "form field", name, lambda v: parse_int(v, lo, hi),
                 f"a whole number from {lo} to {hi}", default)


def form_version(name: str = "version", default=None):
    """The version a form was opened at (a hidden field); None when the form carries none."""
    return _read(request.form, "form field", name, parse_version, "a valid version", default)


def form_ids(name: str, limit: int = 1000) -> list[int]:
    """Every valid id among a multi-valued field (checkboxes, a multiple select)."""
    return parse_ids(request.form.getlist(name), limit)


def arg_text(name: str, default: str = "", max_len: int = 200) -> str:
    """A search term or filter: stripped and cut to `max_len` (a search needs no more, and a
    100 kB LIKE pattern is refused by SQLite). Control characters never get here (see below)."""
    return (request.args.get(name) or default).strip()[:max_len]


def arg_date(name: str, default=None):
    raw = request.args.get(name)
    try:
        value = parse_date(raw)
    except InputError as exc:
        raise BadInput(f"The address parameter “{name[:40]}”: {exc}") from None
    return default if value is None else value


# --- request-wide -----------------------------------------------------------------------------

def _problem_in(pairs):
    for key, value in pairs:
        for text, label in ((key, "a field name"), (value, f"the field “{str(key)[:40]}”")):
            problem = text_problem(text)
            if problem:
                return f"{label} {problem}"
    return None


def refuse_control_characters():
    """Refuse the whole request when any text it carries could not be stored (see module doc)."""
    body = request.method in ("POST", "PUT", "PATCH", "DELETE")
    texts = [(k, v) for k, v in (request.view_args or {}).items() if isinstance(v, str)]
    if not body and not texts and not request.query_string:
        return None  # nothing to read: most page views and htmx fragments
    problem = _problem_in(texts) or _problem_in(request.args.items(multi=True))
    if not problem and body:
        problem = (_problem_in(request.form.items(multi=True))
                   or _problem_in((k, f.filename or "") for k, f in request.files.items(multi=True)))
    if problem:
        raise BadInput("This request was refused: " + problem + ". Remove them and try again; "
                       "nothing was saved.")
    return None


def _on_bad_input(exc: BadInput):
    from blueprints.web import error_response
    return error_response(400, exc.description)


def init_app(app):
    """Before the blueprints are registered: their rules must compile with this `int`."""
    app.url_map.converters["int"] = BoundedInt
    app.before_request(refuse_control_characters)
    app.register_error_handler(BadInput, _on_bad_input)
