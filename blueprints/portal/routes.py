"""The client portal: its own sign-in (rate limited like the clinicians'), the invitation where
a client sets a password, and the client's one page: goals, progress and homework.

Every portal endpoint is exempt from the clinician sign-in check (blueprints/web.py); this
module does its own: a live PortalSession named by session["portal_sid"]."""
from flask import current_app, flash, g, make_response, redirect, request, session, url_for

from blueprints.auth.limits import sign_in_limits
from blueprints.portal import bp
from blueprints.web import render
from core import accounts, audit, portal
from core.homework import HomeworkError

OPEN_ENDPOINTS = {"portal.login", "portal.accept_invitation", "portal.logout"}
GENERIC_FAILURE = "Wrong email or password."


@bp.before_request
def _require_portal_sign_in():
    g.portal_account = portal.load_account(session.get("portal_sid"),
                                           current_app.config["SESSION_IDLE"],
                                           current_app.config["SESSION_MAX"])
    if g.portal_account is None and request.endpoint not in OPEN_ENDPOINTS:
        session.pop("portal_sid", None)
        login = url_for("portal.login")
        if request.htmx:
            response = make_response("", 401)
            response.headers["HX-Redirect"] = login
            return response
        return redirect(login)
    return None


def _sign_in(account):
    accounts.end_session(session.get("sid"))  # one browser is a clinician or a client, not both
    portal.end_session(session.get("portal_sid"))
    session.clear()
    session["portal_sid"] = portal.start_session(account)


@bp.route("/portal/login", methods=["GET", "POST"])
@sign_in_limits("portal-login")
def login():
    if g.portal_account is not None and request.method == "GET":
        return redirect(url_for("portal.home"))
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")
        account = portal.authenticate(email, request.form.get("password", ""))
        portal.record_login(account, email)
        if account is None:
            error = GENERIC_FAILURE
        else:
            _sign_in(account)
            return redirect(url_for("portal.home"), 303)
    return render("portal/login.html", status=401 if error else 200, error=error,
                  email=request.form.get("email", ""))


@bp.post("/portal/logout")
def logout():
    portal.end_session(session.get("portal_sid"))
    session.clear()
    flash("You are signed out. See you next time.", "info")
    return redirect(url_for("portal.login"), 303)


@bp.route("/portal/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    invitation = portal.open_invitation(token)
    if invitation is None:
        return render("portal/invitation_invalid.html", status=404)
    error = None
    if request.method == "POST":
        if request.form.get("password") != request.form.get("password_confirm"):
            error = "The two passwords differ."
        else:
            try:
                account = portal.accept_invitation(token, request.form.get("password", ""))
            except portal.PortalError as exc:
                error = str(exc)
            else:
                _sign_in(account)
                flash("Welcome. This is your own page: your goals, your progress and your homework.",
                      "success")
                return redirect(url_for("portal.home"), 303)
    return render("portal/invitation_accept.html", status=422 if error else 200,
                  invitation=invitation, error=error, token=token)


@bp.get("/portal/")
def home():
    account = g.portal_account
    audit.record("portal.view", practice=account.client.practice_id, target_type="client",
                 target_id=account.client_id, detail=f"portal account {account.id}")
    return render("portal/home.html", client=account.client, **portal.portal_overview(account))


@bp.post("/portal/homework/<int:homework_id>")
def homework_answer(homework_id):
    account = g.portal_account
    try:
        hw = portal.answer_homework(account, homework_id, request.form.get("status", ""),
                                    request.form.get("feedback", ""))
    except portal.PortalNotFound:
        return render("portal/error.html", status=404)
    except HomeworkError as exc:
        hw = portal.own_homework(account, homework_id)
        return render("portal/home.html", "portal/_homework_card.html", status=422, hw=hw,
                      error_for=hw.id, errors=exc.errors, feedback=request.form.get("feedback", ""),
                      client=account.client, **portal.portal_overview(account))
    if request.htmx:
        return render("portal/home.html", "portal/_homework_card.html", hw=hw, saved_id=hw.id,
                      plain_homework=portal.PLAIN_HOMEWORK)
    flash("Thank you. Your clinician will see this before your next session.", "success")
    return redirect(url_for("portal.home") + f"#homework-{hw.id}", 303)
