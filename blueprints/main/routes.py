from flask import jsonify
from flask_login import current_user

from blueprints.main import bp
from blueprints.web import render
from core.access import clients_visible_to
from core.db import db


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
    clients = clients_visible_to(current_user).limit(50)
    return render("main/dashboard.html", clients=list(clients), **context)
