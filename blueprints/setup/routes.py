from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import login_user

from blueprints.setup import bp
from blueprints.web import render
from core import accounts, audit


@bp.route("/setup", methods=["GET", "POST"])
def first_run():
    """Create the practice and its first admin. Gone once a practice exists."""
    if not accounts.is_first_run():
        abort(404)
    form = request.form
    error = None
    if request.method == "POST":
        if form.get("password") != form.get("password_confirm"):
            error = "The two passwords differ."
        else:
            try:
                user = accounts.create_practice_with_admin(
                    form.get("practice_name", ""), form.get("name", ""), form.get("email", ""),
                    form.get("password", ""))
            except accounts.AccountError as exc:
                error = str(exc)
            else:
                current_app.config["_SET_UP"] = True
                session.clear()
                session["sid"] = accounts.start_session(user)
                login_user(user)
                audit.record("login.success", user, target_type="user", target_id=user.id)
                flash("Your practice is ready. Add your first client, or invite colleagues.", "success")
                return redirect(url_for("main.dashboard"), 303)
    return render("setup/first_run.html", status=422 if error else 200, error=error, form=form)
