from flask import jsonify
from flask_login import current_user

from blueprints.main import bp
from blueprints.web import render
from core.access import rows_in_scope
from core.db import db
from core.models import Client


@bp.get("/healthz")
def healthz():
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT 1")
    except Exception:  # any driver error means the database is not reachable
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


# Other areas add dashboard panels: (partial template, function(user) -> its context).
DASHBOARD_PANELS: list[tuple[str, object]] = []


@bp.get("/")
def dashboard():
    context = {"dashboard_panels": [template for template, _ in DASHBOARD_PANELS]}
    for _template, build in DASHBOARD_PANELS:
        context.update(build(current_user))
    return render("main/dashboard.html", clients=_first_clients(current_user), **context)


def _first_clients(user, limit: int = 50) -> list[Client]:
    """The first active clients of the caseload by name (compiled once per role)."""
    return rows_in_scope("dashboard.clients", lambda: (
        Client.select(Client.id, Client.first_name, Client.last_name, Client.presenting_problem)
        .where(Client.status == "active")
        .order_by(Client.last_name, Client.first_name, Client.id).limit(limit)), user)
