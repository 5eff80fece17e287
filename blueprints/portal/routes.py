"""The client portal: its own sign-in (rate limited like the clinicians'), the invitation where
a client sets a password, and the client's one page: goals, progress and homework.

Every portal endpoint is exempt from the clinician sign-in check (blueprints/web.py); this
module does its own: a live PortalSession named by session["portal_sid"]."""
from flask import current_app, flash, g, make_response, redirect, request, session, url_for

from blueprints import edit_forms
from blueprints.auth.limits import sign_in_limits
from blueprints.portal import bp
from blueprints.web import render
from core import accounts, audit, portal
from core.homework import CLIENT_FIELDS, HomeworkError, HomeworkRemoved
from core.merge import EditConflict

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
    form = request.form
    status, feedback = form.get("status", ""), form.get("feedback", "")
    base = edit_forms.posted_base(form, CLIENT_FIELDS)
    try:
        hw = portal.answer_homework(account, homework_id, status, feedback,
                                    edit_forms.posted_version(form), base)
    except portal.PortalNotFound:
        return render("portal/error.html", status=404)
    except HomeworkRemoved:
        # Said plainly, with what the client wrote, so nothing typed is lost.
        hw = portal.own_homework(account, homework_id, removed_too=True)
        return render("portal/home.html", "portal/_homework_removed.html", status=409,
                      removed_hw=hw, feedback=feedback.strip(), client=account.client,
                      **portal.portal_overview(account))
    except HomeworkError as exc:
        hw = portal.own_homework(account, homework_id)
        state = edit_forms.invalid({"status": status, "feedback": feedback}, form, CLIENT_FIELDS)
        return _card_again(account, hw, 422, state, errors=exc.errors)
    except EditConflict as exc:
        hw = portal.own_homework(account, homework_id)
        mine = {"status": status, **({"feedback": feedback.strip()} if feedback.strip() else {})}
        state = edit_forms.refused(mine, base, exc.values, exc.current.version, exc.fields)
        plain = portal.PLAIN_HOMEWORK
        for side in ("mine", "theirs"):
            shown = dict(state["conflict"][side])
            shown["status"] = plain.get(shown.get("status"), shown.get("status", ""))
            state["conflict"][side] = shown
        return _card_again(account, hw, 409, state)
    if request.htmx:
        return render("portal/home.html", "portal/_homework_card.html", hw=hw, saved_id=hw.id,
                      plain_homework=portal.PLAIN_HOMEWORK)
    flash("Thank you. Your clinician will see this before your next session.", "success")
    return redirect(url_for("portal.home") + f"#homework-{hw.id}", 303)


def _card_again(account, hw, status, state, errors=None):
    """The card (or the page, without JavaScript) with the client's note kept."""
    return render("portal/home.html", "portal/_homework_card.html", status=status, hw=hw,
                  error_for=hw.id, errors=errors or {}, state=state,
                  feedback=state["data"].get("feedback") or "", client=account.client,
                  **portal.portal_overview(account))
