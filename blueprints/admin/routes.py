from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from blueprints import edit_forms
from blueprints.admin import bp
from blueprints.submit_once import LINK_SHOWN_ONCE, submit_once
from blueprints.inputs import arg_id, arg_int, arg_text
from blueprints.web import render, require_admin
from core import accounts, audit
from core.merge import EditConflict
from core.models import User

PAGE_SIZE = 50


@bp.before_request
def _admins_only():
    require_admin()


@bp.get("/admin/members")
def members():
    return render("admin/members.html", members=list(accounts.members_of(current_user.practice_id)),
                  invite_url=None, errors={})


@bp.post("/admin/members/invite")
def invite():
    try:
        with submit_once(LINK_SHOWN_ONCE) as once:
            token = accounts.invite(current_user, request.form.get("email", ""),
                                    request.form.get("name", ""),
                                    request.form.get("role", "clinician"))
            once.created(url_for("admin.members"))  # the link is shown once, never stored
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
    active = action == "activate"
    try:
        # The button names the state it changes from (Deactivate is shown for an active
        # member): that is the base of the merge, whatever else the page carried.
        member, changed = accounts.set_member_active(
            current_user, user_id, active, edit_forms.posted_version(request.form),
            {"active": not active})
    except LookupError:  # not a member of this practice: audited here and in theirs
        audit.denied(current_user, "user", user_id, detail=f"member {action}")
        abort(404)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
    except EditConflict as exc:
        flash(f"{exc.current.name} was changed by another admin meanwhile and is now "
              f"{'active' if exc.current.active else 'deactivated'}. Nothing was changed: "
              "check the list and try again.", "error")
        return render("admin/members.html", status=409, invite_url=None, errors={},
                      members=list(accounts.members_of(current_user.practice_id)))
    else:
        state = "active" if member.active else "deactivated; their sessions ended"
        flash(f"{member.name} is {state}." if changed else
              f"{member.name} was already {'active' if member.active else 'deactivated'} "
              "(another admin changed it meanwhile).", "info")
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
    audit.record("audit.view", current_user, target_type="practice",
                 target_id=current_user.practice_id,
                 detail=f"page {page}; action {action!r}; user {user_id}; target {target_type!r}")
    return render("admin/audit.html", events=events[:PAGE_SIZE], has_next=len(events) > PAGE_SIZE,
                  page=page, action=action, user_id=user_id, target_type=target_type, users=users)
