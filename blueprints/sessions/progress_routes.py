"""Scores and the progress page (charts and tables), custom measures, and the portal invitation."""
import datetime as dt

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.sessions import bp
from blueprints.submit_once import LINK_SHOWN_ONCE, submit_once
from blueprints.web import render, require_admin, safe_next
from core import audit, charts, measures, portal, progress
from core.access import get_client


def progress_context(client) -> dict:
    """Charts and tables for every instrument scored or targeted, and every goal's ratings."""
    instruments = measures.instruments_for(client.practice_id)
    goals = progress.active_goals(client.id)
    by_instrument = {}
    for score in measures.scores_of(client.id):
        by_instrument.setdefault(score.instrument, []).append(score)
    targets = {}
    for goal in goals:
        target = measures.parse_target(goal, instruments)
        if target:
            targets.setdefault(target.instrument, (target, goal))
            by_instrument.setdefault(target.instrument, [])
    score_charts = []
    for name in sorted(by_instrument):
        rows = sorted(by_instrument[name], key=lambda s: (s.taken_on, s.id))
        instrument = instruments.get(name) or measures.Instrument(
            name, min(s.score for s in rows), max(s.score for s in rows) or 1)
        target, goal = targets.get(name, (None, None))
        score_charts.append({"instrument": instrument, "scores": rows, "target": target,
                             "goal": goal, "chart": charts.score_chart(instrument, rows, target)})
    ratings = progress.goal_ratings(client.id)
    rating_charts = [{"goal": g, "ratings": ratings.get(g.id, []),
                      "chart": charts.rating_chart(f"goal-{g.id}", g.title, ratings.get(g.id, []))}
                     for g in goals]
    return {"score_charts": score_charts, "rating_charts": rating_charts,
            "instruments": instruments, "latest": measures.latest_scores(client.id)}


def _progress_page(client, status=200, errors=None, form=None):
    return render("sessions/progress.html", status=status, client=client, errors=errors or {},
                  form=form or {"taken_on": dt.date.today().isoformat()},
                  **progress_context(client))


@bp.get("/clients/<int:client_id>/progress")
def client_progress(client_id):
    client = get_client(current_user, client_id)
    audit.record("progress.view", current_user, target_type="client", target_id=client.id)
    return _progress_page(client)


@bp.post("/clients/<int:client_id>/scores")
def score_create(client_id):
    client = get_client(current_user, client_id)
    form = request.form.to_dict()
    try:
        with submit_once() as once:
            score, met = measures.record_score(current_user, client, form)
            band = measures.band_label(score.instrument, score.score,
                                       measures.instruments_for(client.practice_id))
            message = f"{score.instrument} {score.score}{f' ({band})' if band else ''} recorded."
            if met:
                message += " Target met: " + "; ".join(g.title for g in met) + "."
            flash(message, "success")
            back = url_for("sessions.client_progress", client_id=client.id)
            return once.created(safe_next(form.get("next"), back))
    except measures.ScoreError as exc:
        return _progress_page(client, 422, exc.errors, form)


@bp.route("/admin/measures", methods=["GET", "POST"])
def custom_measures():
    require_admin()
    errors, form = {}, {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            with submit_once() as once:
                row = measures.add_custom_measure(current_user, form)
                flash(f"{row.name} ({row.min_score}-{row.max_score}) can now be scored.", "success")
                return once.created(url_for("sessions.custom_measures"))
        except measures.ScoreError as exc:
            errors = exc.errors
    return render("sessions/custom_measures.html", status=422 if errors else 200, errors=errors,
                  form=form, custom=list(measures.custom_measures(current_user.practice_id)),
                  standard=measures.INSTRUMENTS.values())


# --- the client portal, from the clinician's side ----------------------------------------------

@bp.post("/clients/<int:client_id>/portal-invitation")
def portal_invite(client_id):
    client = get_client(current_user, client_id)
    error, link = None, None
    try:
        with submit_once(LINK_SHOWN_ONCE) as once:
            token = portal.invite_client(current_user, client, request.form.get("email", ""))
            # The link itself is never stored: a repeat is sent to the client's page instead.
            once.created(url_for("clients.client_detail", client_id=client.id) + "#portal")
    except portal.PortalError as exc:
        error = str(exc)
    else:
        link = url_for("portal.accept_invitation", token=token, _external=True)
    return render("sessions/portal_invitation.html", "sessions/_portal_panel.html",
                  status=422 if error else 200, client=client, portal_error=error,
                  portal_link=link, portal_account=portal.account_for(client.id),
                  portal_email=request.form.get("email", ""))


@bp.post("/clients/<int:client_id>/portal-access/revoke")
def portal_revoke(client_id):
    client = get_client(current_user, client_id)
    if portal.revoke_access(current_user, client):
        flash("Portal access ended. A new invitation gives it back.", "info")
    return redirect(url_for("clients.client_detail", client_id=client.id) + "#portal", 303)
