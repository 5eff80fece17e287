from flask import flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from blueprints.auth import bp
from blueprints.auth.limits import sign_in_limits
from blueprints.web import render, safe_next
from core import accounts, audit, portal


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits("login")
def login():
    next_url = safe_next(request.values.get("next"), url_for("main.dashboard"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url)
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")
        user = accounts.authenticate(email, request.form.get("password", ""))
        if user is None:
            error = "Wrong email or password."
            accounts.record_failed_login(email)
        else:
            accounts.end_session(session.get("sid"))
            portal.end_session(session.get("portal_sid"))  # one browser, one kind of account
            session.clear()  # a fresh session identifier at every sign-in
            session["sid"] = accounts.start_session(user)
            login_user(user)
            audit.record("login.success", user, target_type="user", target_id=user.id)
            return redirect(next_url, 303)
    return render("auth/login.html", status=401 if error else 200, error=error,
                  next=request.values.get("next", ""), email=request.form.get("email", ""))


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        audit.record("logout", current_user, target_type="user", target_id=current_user.id)
    accounts.end_session(session.get("sid"))
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    invitation = accounts.open_invitation(token)
    if invitation is None:
        return render("auth/invitation_invalid.html", status=404)
    error = None
    if request.method == "POST":
        if request.form.get("password") != request.form.get("password_confirm"):
            error = "The two passwords differ."
        else:
            try:
                user = accounts.accept_invitation(token, request.form.get("name", ""),
                                                  request.form.get("password", ""))
            except accounts.AccountError as exc:
                error = str(exc)
            else:
                session.clear()
                session["sid"] = accounts.start_session(user)
                login_user(user)
                flash("Welcome to Stepwise.", "success")
                return redirect(url_for("main.dashboard"), 303)
    return render("auth/invitation_accept.html", status=422 if error else 200,
                  invitation=invitation, error=error, token=token)
