from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from blueprints.admin import bp
from blueprints.inputs import arg_id, arg_int, arg_text
from blueprints.web import render
from core import accounts, audit
from core.models import User

PAGE_SIZE = 50


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(404)


@bp.get("/admin/members")
def members():
    return render("admin/members.html", members=list(accounts.members_of(current_user.practice_id)),
                  invite_url=None, errors={})


@bp.post("/admin/members/invite")
def invite():
    try:
        token = accounts.invite(current_user, request.form.get("email", ""),
                                request.form.get("name", ""), request.form.get("role", "clinician"))
    except accounts.AccountError as exc:
        return render("admin/members.html", status=422,
                      members=list(accounts.members_of(current_user.practice_id)),
                      invite_url=None, errors={"email": str(exc)})
    invite_url = url_for("auth.accept_invitation", token=token, _external=True)
    flash("Invitation created. Send this link to your colleague; it works once, for 7 days.", "success")
    return render("admin/members.html", members=list(accounts.members_of(current_user.practice_id)),
                  invite_url=invite_url, errors={})


@bp.post("/admin/members/<int:user_id>/<any(activate, deactivate):action>")
def member_active(user_id, action):
    try:
        member = accounts.set_member_active(current_user, user_id, action == "activate")
    except LookupError:
        abort(404)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{member.name} is {'active' if member.active else 'deactivated; their sessions ended'}.",
              "info")
    return redirect(url_for("admin.members"), 303)


@bp.get("/admin/audit")
def audit_log():
    page = arg_int("page", 1, lo=1, hi=1_000_000)
    action = arg_text("action", max_len=60)
    user_id = arg_id("user")
    target_type = arg_text("target", max_len=40)
    query = audit.events_for_practice(current_user.practice_id, action, user_id, target_type)
    events = list(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    users = {u.id: u for u in User.select().where(User.practice == current_user.practice_id)}
    return render("admin/audit.html", events=events[:PAGE_SIZE], has_next=len(events) > PAGE_SIZE,
                  page=page, action=action, user_id=user_id, target_type=target_type, users=users)
