"""What this area adds to the client page and the dashboard. Each builder makes a fixed number
of queries, whatever the size of the caseload."""
from flask import url_for
from werkzeug.routing import BuildError

from blueprints.clients.routes import CLIENT_PAGE_SECTIONS
from blueprints.main.routes import DASHBOARD_PANELS
from core import homework, measures, notes, portal, progress


def plan_url(plan) -> str:
    """The plan page when the plans area provides one, else the client page."""
    try:
        return url_for("plans.plan_detail", plan_id=plan.id)
    except BuildError:
        return url_for("clients.client_detail", client_id=plan.client_id)


def client_section(user, client) -> dict:
    scores = measures.latest_scores(client.id)
    return {"session_notes": notes.notes_of(client.id, limit=5),
            "stale_goals": progress.stale_goals_of_client(client),
            "client_homework": homework.homework_of(client.id),
            "latest_scores": sorted(scores.values(), key=lambda s: s.instrument),
            "band_label": measures.band_label,
            "portal_account": portal.account_for(client.id)}


def dashboard_panel(user) -> dict:
    return {"attention": {
        "feedback": homework.new_feedback(user),
        "overdue": homework.overdue(user),
        "reviews": homework.plans_due_for_review(user),
        "stale": progress.stale_goals_in_caseload(user),
    }, "plan_url": plan_url}


CLIENT_PAGE_SECTIONS.append(("sessions/_client_section.html", client_section))
DASHBOARD_PANELS.append(("sessions/_dashboard_panel.html", dashboard_panel))
