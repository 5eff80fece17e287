"""What every request shares: the database connection, sign-in, security headers, errors, and the
one decision between a fragment and a full page."""
import datetime as dt
from urllib.parse import urlsplit

from flask import (current_app, g, jsonify, make_response, redirect, render_template, request,
                   session, url_for)
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from blueprints.extensions import login_manager
from core import accounts, audit, merge
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
    return accounts.load_session_user(session.get("sid"), user_id, current_app.config["SESSION_IDLE"])


@login_manager.unauthorized_handler
def _unauthorized():
    if session.get("portal_sid"):
        # A client signed in to the portal is not a clinician: clinician pages do not exist for them.
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

def error_response(status: int, message: str | None = None):
    message = message or ERROR_TEXT.get(status, ERROR_TEXT[500])
    if request.path.startswith("/healthz") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error=message)
    elif wants_fragment():
        response = make_response(render_template("_error.html", status=status, message=message))
    else:
        response = make_response(render_template("error.html", status=status, message=message))
    response.status_code = status
    return response


def _on_http_error(exc: HTTPException):
    return error_response(exc.code or 500)


def _on_csrf_error(exc: CSRFError):
    return error_response(400, "This form has expired or was sent without its security token. "
                               "Reload the page and try again; nothing was saved.")


def _on_not_found(_exc):
    return error_response(404)


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

    @app.template_filter("date")
    def _date(value, fmt="%d %b %Y"):
        return value.strftime(fmt) if value else ""

    @app.template_filter("datetime")
    def _datetime(value, fmt="%d %b %Y %H:%M"):
        return value.strftime(fmt) + " UTC" if value else ""
