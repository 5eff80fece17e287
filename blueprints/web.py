"""What every request shares: the database connection, sign-in, security headers, errors, and the
one decision between a fragment and a full page."""
import datetime as dt
from urllib.parse import urlsplit

from flask import (abort, current_app, g, jsonify, make_response, redirect, render_template,
                   request, session, url_for)
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup, escape
from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import HTTPException

from blueprints.extensions import login_manager
from blueprints.submit_once import submit_token_field
from core import accounts, audit, merge, portal
from core.access import NotFound
from core.db import db

# Endpoints open without a clinician sign-in. The portal does its own sign-in.
PUBLIC_ENDPOINTS = {"static", "main.healthz", "auth.login", "auth.logout", "auth.accept_invitation",
                    "setup.first_run"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")
ERROR_TEXT = {
    400: "The request could not be understood.",
    403: "You do not have access to this.",
    404: "There is nothing here. It may have been removed, or the address is wrong.",
    405: "That action is not allowed here.",
    409: "Someone else changed this meanwhile.",
    413: "The upload is too large.",
    429: "Too many attempts. Wait a few minutes and try again.",
    500: "Something went wrong on our side. Nothing you entered was shown to anyone else.",
    503: "The service is unavailable right now.",
}


# --- fragment or page -----------------------------------------------------------------------

def wants_fragment() -> bool:
    """An htmx swap (not a boosted navigation or a history restore) gets only the fragment."""
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(page: str, fragment: str | None = None, /, *, status: int = 200, **context):
    """Render `fragment` for an htmx swap, `page` otherwise (the page includes the fragment)."""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def safe_next(target: str | None, default: str) -> str:
    """Only same-site absolute paths: rejects //evil, /\\evil, schemes and control characters."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def client_ip() -> str:
    return request.remote_addr or ""


# --- per-request hooks ----------------------------------------------------------------------

def _open_db():
    audit.current_ip.set(client_ip())
    if request.endpoint not in ("static", "main.healthz"):  # healthz reports a failure itself
        db.connect(reuse_if_open=True)


def _close_db(_exc):
    if not db.is_closed():
        db.close()


def _require_sign_in():
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS or endpoint.startswith("portal."):
        return None
    if not current_app.config.get("_SET_UP"):
        if accounts.is_first_run():
            return redirect(url_for("setup.first_run"))
        current_app.config["_SET_UP"] = True
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "static":
        # Pages carry client data: never keep them in a shared or browser cache.
        headers["Cache-Control"] = "no-store"
    return response


@login_manager.user_loader
def _load_user(user_id):
    return accounts.load_session_user(session.get("sid"), user_id, current_app.config["SESSION_IDLE"],
                                      current_app.config["SESSION_MAX"])


def require_admin():
    """404 (audited: a non-admin probing admin pages) unless the signed-in member is an admin."""
    if not current_user.is_authenticated:
        abort(404)
    if not current_user.is_admin:
        audit.denied(current_user, detail=f"not an admin: {request.method} {request.path}"[:255])
        abort(404)


@login_manager.unauthorized_handler
def _unauthorized():
    if session.get("portal_sid"):
        # A client signed in to the portal is not a clinician: clinician pages do not exist for
        # them. Audited in the client's practice (a live portal session only).
        account = portal.load_account(session["portal_sid"], current_app.config["SESSION_IDLE"],
                                      current_app.config["SESSION_MAX"])
        if account is not None:
            audit.denied(practice=account.client.practice_id, target_type="portal_account",
                         target_id=account.id,
                         detail=f"portal session on a clinician page: {request.method} "
                                f"{request.path}"[:255])
        return error_response(404)
    login_url = url_for("auth.login")
    if request.htmx:
        try:  # a header anyone can send: a malformed URL (say "http://[") is no page at all
            current = urlsplit(request.htmx.current_url or "").path or "/"
        except ValueError:
            current = "/"
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for("auth.login", next=safe_next(current, "/"))
        return response
    nxt = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=nxt) if nxt and nxt != "/" else login_url)


# --- errors ---------------------------------------------------------------------------------

def error_response(status: int, message: str | None = None, unavailable: bool = False):
    """The error page, fragment or JSON. `unavailable`: drawn without the database (no
    signed-in user in the layout)."""
    message = message or ERROR_TEXT.get(status, ERROR_TEXT[500])
    if request.path.startswith("/healthz") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error=message)
    elif wants_fragment():
        response = make_response(render_template("_error.html", status=status, message=message))
    else:
        try:
            response = make_response(render_template("error.html", status=status,
                                                     message=message, unavailable=unavailable))
        except DATABASE_DOWN as exc:  # the layout asked who is signed in, and the database is gone
            return _on_database_down(exc)
    response.status_code = status
    return response


def _on_http_error(exc: HTTPException):
    return error_response(exc.code or 500)


def _on_csrf_error(exc: CSRFError):
    return error_response(400, "This form has expired or was sent without its security token. "
                               "Reload the page and try again; nothing was saved.")


def _on_not_found(_exc):
    return error_response(404)


DATABASE_DOWN = (OperationalError, InterfaceError, MaxConnectionsExceeded)
# sqlite3 raises OperationalError for mistakes in SQL too; these mean the file is out of reach.
_SQLITE_DOWN = ("unable to open", "locked", "disk i/o", "not a database", "malformed",
                "readonly", "no such table")


def _unreachable(exc) -> bool:
    original = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    if isinstance(exc, OperationalError) and type(original).__module__.startswith("sqlite3"):
        return any(words in str(original).lower() for words in _SQLITE_DOWN)
    return True  # the driver's connection and server errors, a closed connection, a full pool


def _on_database_down(exc):
    """The database cannot be reached (or is locked past the busy timeout): the app's own 503,
    drawn without it, and one log line, no traceback (one per failed request, not a chain of
    three as when the error page itself asked the database who is signed in)."""
    if not _unreachable(exc):
        if current_app.config.get("TESTING"):
            raise exc
        return _on_server_error(exc)
    current_app.logger.error("database unavailable: %s %s: %s: %s", request.method, request.path,
                             type(exc).__name__, " ".join(str(exc).split())[:300])
    g._login_user = login_manager.anonymous_user()  # current_user must not query it again
    response = error_response(503, "The database cannot be reached right now.", unavailable=True)
    response.headers["Retry-After"] = "30"
    return response


def _on_server_error(exc):
    current_app.logger.exception("unhandled error", exc_info=exc)
    return error_response(500)


def init_app(app):
    app.before_request(_open_db)
    app.before_request(_require_sign_in)
    app.teardown_request(_close_db)
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _on_csrf_error)
    app.register_error_handler(NotFound, _on_not_found)
    app.register_error_handler(HTTPException, _on_http_error)
    for exc_type in DATABASE_DOWN:
        app.register_error_handler(exc_type, _on_database_down)
    if not app.config.get("TESTING"):
        app.register_error_handler(Exception, _on_server_error)
    login_manager.session_protection = None  # server-side sessions replace it
    app.jinja_env.globals["current_ip"] = client_ip
    _template_helpers(app)


_ID_STAND_IN = 7_000_000_001


def url_ids(endpoint: str, **values) -> str:
    """url_for for pages that build hundreds of links differing only in integer ids (the plan
    page: ~420 per 20 goals, a quarter of its time). Builds each link shape once per request
    with stand-in ids, then substitutes the real ones."""
    ints = sorted(k for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool))
    key = (endpoint, tuple(ints), tuple(sorted((k, v) for k, v in values.items() if k not in ints)))
    cache = g.setdefault("url_shapes", {})
    shape = cache.get(key)
    if shape is None:
        stand_ins = {k: _ID_STAND_IN + i for i, k in enumerate(ints)}
        shape = cache[key] = url_for(endpoint, **{**values, **stand_ins})
    for i, k in enumerate(ints):
        shape = shape.replace(str(_ID_STAND_IN + i), str(values[k]))
    return shape


def _csrf_field():
    """The hidden CSRF input for plain forms. An htmx fragment leaves it out: it only ever lives
    in a page where htmx runs, and htmx sends the token in its header (hx-headers on body)."""
    if wants_fragment():
        return ""
    return Markup('<input type="hidden" name="csrf_token" value="%s">') % generate_csrf()


def base_fields(record, names) -> Markup:
    """The hidden `base-<field>` inputs of an edit form: the values it showed when it was opened,
    for the three-way merge of core/merge.py. `record` is a row or a dict. Python, not a Jinja
    macro: every goal, objective and intervention editor renders it, and the macro took a fifth
    of the goal editor's time."""
    if record is None:
        values = dict.fromkeys(names)
    elif isinstance(record, dict):
        values = {name: record.get(name) for name in names}
    else:
        values = {name: getattr(record, name, None) for name in names}
    return Markup("".join(f'<input type="hidden" name="base-{escape(name)}" '
                          f'value="{escape(merge.as_text(value))}">'
                          for name, value in values.items()))


def _template_helpers(app):
    # Fragments travel on every swap: keep template whitespace out of them.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _helpers():
        return {"wants_fragment": wants_fragment, "today_iso": lambda: dt.date.today().isoformat(),
                "csrf_field": _csrf_field, "url_ids": url_ids,
                "has_endpoint": lambda name: name in app.view_functions}

    app.jinja_env.filters["as_text"] = merge.as_text
    app.jinja_env.globals["base_fields"] = base_fields
    app.jinja_env.globals["submit_token_field"] = submit_token_field

    @app.template_filter("date")
    def _date(value, fmt="%d %b %Y"):
        return value.strftime(fmt) if value else ""

    @app.template_filter("datetime")
    def _datetime(value, fmt="%d %b %Y %H:%M"):
        return value.strftime(fmt) + " UTC" if value else ""
