"""The audit trail: who viewed or changed which record, when and from where."""
from contextvars import ContextVar

from core import models as m
from core.db import insert_each
from core.models import AuditEvent

_MAX_ID = 2**31 - 1  # the smaller of the id column types (PostgreSQL integer)

# The web layer sets this for each request so domain code need not know about Flask.
current_ip: ContextVar[str] = ContextVar("current_ip", default="")


def record(action: str, user=None, practice=None, target_type: str = "", target_id=None,
           detail: str = "") -> AuditEvent:
    """Write one event. `detail` is short and never holds passwords or clinical text."""
    if practice is None and user is not None:
        practice = user.practice_id
    return insert_each(AuditEvent, [dict(
        action=action, user=user, practice=practice, target_type=target_type,
        target_id=target_id, ip=current_ip.get()[:64], detail=(detail or "")[:255])])[0]


def practice_of(target_type: str, target_id) -> int | None:
    """The practice a record belongs to, or None (no such record, or no practice)."""
    if not isinstance(target_id, int) or isinstance(target_id, bool) or not 0 < target_id <= _MAX_ID:
        return None
    via_client = {"client": None, "homework": m.Homework, "note": m.SessionNote,
                  "plan": m.Plan, "plan_page": m.Plan, "portal_account": m.PortalAccount}
    via_goal = {"goal": None, "objective": m.Objective, "intervention": m.Intervention}
    if target_type in ("user", "template"):
        model = m.User if target_type == "user" else m.Template
        query = model.select(model.practice).where(model.id == target_id)
    elif target_type in via_goal:
        model = via_goal[target_type]
        query = m.Client.select(m.Client.practice).join(m.Plan).join(m.Goal)
        query = (query.join(model).where(model.id == target_id) if model
                 else query.where(m.Goal.id == target_id))
    elif target_type in via_client:
        model = via_client[target_type]
        query = m.Client.select(m.Client.practice)
        query = (query.join(model).where(model.id == target_id) if model
                 else query.where(m.Client.id == target_id))
    else:
        return None
    return query.scalar()


def denied(user=None, target_type: str = "", target_id=None, practice=None, detail: str = "",
           action: str = "access.denied"):
    """Audit a refused request: in the actor's practice (`practice`, else the user's), and in the
    practice owning the target when that is another one, so its admins see the probing too
    (as `<action>.external`: the log's "starts with" filter finds both)."""
    own = practice if practice is not None else (user.practice_id if user is not None else None)
    target_id = target_id if isinstance(target_id, int) and abs(target_id) <= _MAX_ID else None
    record(action, user, practice=own, target_type=target_type, target_id=target_id,
           detail=detail)
    theirs = practice_of(target_type, target_id)
    if theirs is not None and theirs != own:
        record(action + ".external", user, practice=theirs, target_type=target_type,
               target_id=target_id, detail=f"from practice {own}" + (f"; {detail}" if detail else ""))


def events_for_practice(practice_id: int, action: str = "", user_id: int | None = None,
                        target_type: str = ""):
    query = AuditEvent.select().where(AuditEvent.practice == practice_id)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if user_id:
        query = query.where(AuditEvent.user == user_id)
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
