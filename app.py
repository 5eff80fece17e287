"""Stepwise application factory: configuration, extensions, blueprints. No routes live here."""
import datetime as dt
import os
import secrets

from flask import Flask

from blueprints import inputs, web
from core import accounts, migrations
from core.db import close_pool, db, make_database
from blueprints.extensions import csrf, htmx, limiter, login_manager


def _secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    with open(path) as fh:
        return fh.read().strip()


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def load_config(app: Flask, test_config: dict | None):
    os.makedirs(app.instance_path, exist_ok=True)
    idle = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    app.config.from_mapping(
        DATABASE_URL=os.environ.get(
            "DATABASE_URL", "sqlite:///" + os.path.join(app.instance_path, "stepwise.db")),
        SESSION_IDLE=dt.timedelta(minutes=idle),
        # However busy, a session ends this long after sign-in (clinicians and portal alike).
        SESSION_MAX=dt.timedelta(hours=float(os.environ.get("SESSION_MAX_HOURS", "12"))),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_env_flag("SECURE_COOKIES"),
        SESSION_COOKIE_NAME="stepwise_session",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (server-side) session
        WTF_CSRF_SSL_STRICT=_env_flag("SECURE_COOKIES"),
        RATELIMIT_STORAGE_URI=os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        RATELIMIT_HEADERS_ENABLED=False,
        # Failed sign-ins; see blueprints/auth/limits.py for why there is no per-account cap.
        LOGIN_LIMIT_PER_ACCOUNT_ADDRESS=os.environ.get("LOGIN_LIMIT_PER_ACCOUNT_ADDRESS",
                                                       "5 per 15 minutes"),
        LOGIN_LIMIT_PER_ACCOUNT=os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", ""),
        LOGIN_LIMIT_PER_ADDRESS=os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "20 per 15 minutes"),
        PASSWORD_METHOD="scrypt",
        AUTO_UPGRADE=_env_flag("AUTO_UPGRADE", True),
        TRUST_PROXY=int(os.environ.get("TRUST_PROXY", "0")),
        MAX_CONTENT_LENGTH=int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("STEPWISE_INSTANCE") or None)
    load_config(app, test_config)
    accounts.PASSWORD_METHOD["value"] = app.config["PASSWORD_METHOD"]

    close_pool()
    db.initialize(make_database(app.config["DATABASE_URL"]))
    if app.config["AUTO_UPGRADE"]:
        with db.connection_context():
            migrations.upgrade()

    if app.config["TRUST_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = app.config["TRUST_PROXY"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    inputs.init_app(app)  # before the blueprints: their <int:...> rules use its converter
    web.init_app(app)

    from blueprints import register_blueprints
    from core import cli
    register_blueprints(app)
    cli.init_app(app)
    return app

