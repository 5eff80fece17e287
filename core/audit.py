"""The audit trail: who viewed or changed which record, when and from where."""
from contextvars import ContextVar

from core.db import insert_each
from core.models import AuditEvent

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
