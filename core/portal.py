"""The client portal: invitations, portal accounts and their server-side sessions, and the one
client's own view. Portal accounts live in their own table: a clinician account is never one."""
import datetime as dt
import hashlib
import secrets

from werkzeug.security import check_password_hash

from core import audit
from core.accounts import hash_password, keep_alive, normalize_email, password_problem
from core.db import db, utcnow
from core.prepared import Prepared
from core.access import NotFound
from core.homework import HomeworkRemoved, client_values, record_client_answer
from core.merge import EditConflict
from core.measures import latest_scores, target_status
from core.models import (Client, Goal, Homework, Objective, Plan, PortalAccount, PortalInvitation,
                         PortalSession, ProgressEntry, SessionNote)

INVITATION_DAYS = 7
_DUMMY = {}
PLAIN_STATUS = {"not started": "Not started yet", "in progress": "Working on it",
                "achieved": "Achieved", "revised": "Updated together",
                "discontinued": "Set aside for now"}
PLAIN_HOMEWORK = {"assigned": "To do", "done": "Done", "skipped": "Skipped"}


class PortalError(ValueError):
    pass


class PortalNotFound(LookupError):
    """Not this client's: answered exactly like a record that does not exist."""


def _hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


# --- invitations --------------------------------------------------------------------------------

def invite_client(user, client: Client, email: str) -> str:
    """A single-use link for the client to set a portal password; returns the raw token (only its
    hash is stored). An earlier unused link of this client stops working."""
    email = normalize_email(email or client.email)
    if "@" not in email or len(email) > 254:
        raise PortalError("Enter the client's email address: it is their portal sign-in name.")
    taken = PortalAccount.get_or_none(PortalAccount.email == email)
    if taken is not None and taken.client_id != client.id:
        raise PortalError("Another portal account uses this email address.")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.atomic():
        PortalInvitation.update(expires_at=now).where(
            (PortalInvitation.client == client.id) & PortalInvitation.used_at.is_null()
            & (PortalInvitation.expires_at > now)).execute()
        inv = PortalInvitation.create(client=client.id, email=email, token_hash=_hash(token),
                                      invited_by=user,
                                      expires_at=now + dt.timedelta(days=INVITATION_DAYS))
        audit.record("portal.invite", user, target_type="client", target_id=client.id,
                     detail=f"invitation {inv.id}")
    return token


def open_invitation(token: str) -> PortalInvitation | None:
    inv = (PortalInvitation.select(PortalInvitation, Client).join(Client)
           .where(PortalInvitation.token_hash == _hash(token)).first())
    if inv is None or inv.used_at is not None or inv.expires_at < utcnow():
        return None
    return inv


def accept_invitation(token: str, password: str) -> PortalAccount:
    invalid = "This link is no longer valid. Ask your clinician for a new one."
    problem = password_problem(password)
    if problem:
        raise PortalError(problem)
    with db.atomic():
        inv = open_invitation(token)
        if inv is None:
            raise PortalError(invalid)
        # Single use even under a race: only one request can flip used_at from NULL.
        if not (PortalInvitation.update(used_at=utcnow())
                .where((PortalInvitation.id == inv.id) & PortalInvitation.used_at.is_null()).execute()):
            raise PortalError(invalid)
        if PortalAccount.select().where((PortalAccount.email == inv.email)
                                        & (PortalAccount.client != inv.client_id)).exists():
            raise PortalError("Another portal account uses this email address. "
                              "Ask your clinician for help.")
        account = PortalAccount.get_or_none(PortalAccount.client == inv.client_id)
        if account is None:
            account = PortalAccount.create(client=inv.client_id, email=inv.email,
                                           password_hash=hash_password(password))
        else:  # a new invitation also resets a forgotten password
            account.email, account.password_hash, account.active = inv.email, hash_password(password), True
            account.save()
            PortalSession.delete().where(PortalSession.account == account.id).execute()
        audit.record("portal.join", practice=inv.client.practice_id, target_type="client",
                     target_id=inv.client_id, detail=f"portal account {account.id}")
    return account


def revoke_access(user, client: Client) -> bool:
    with db.atomic():
        account = PortalAccount.get_or_none(PortalAccount.client == client.id)
        PortalInvitation.update(expires_at=utcnow()).where(
            (PortalInvitation.client == client.id) & PortalInvitation.used_at.is_null()).execute()
        if account is None:
            return False
        PortalAccount.update(active=False).where(PortalAccount.id == account.id).execute()
        PortalSession.delete().where(PortalSession.account == account.id).execute()
        audit.record("portal.revoke", user, target_type="client", target_id=client.id)
    return True


def account_for(client_id: int) -> PortalAccount | None:
    return _ACCOUNT_OF.first("account of", client_id)


_ACCOUNT_OF = Prepared(lambda client_id: PortalAccount.select().where(
    PortalAccount.client == client_id).limit(1))


# --- signing in ---------------------------------------------------------------------------------

def authenticate(email: str, password: str) -> PortalAccount | None:
    """The portal account for these credentials, or None. Only portal accounts are searched."""
    account = PortalAccount.get_or_none(PortalAccount.email == normalize_email(email))
    if account is None or not account.password_hash:
        if "h" not in _DUMMY:
            _DUMMY["h"] = hash_password(secrets.token_hex(16))
        check_password_hash(_DUMMY["h"], password or "")  # as slow as a real check
        return None
    if not check_password_hash(account.password_hash, password or "") or not account.active:
        return None
    return account


def record_login(account: PortalAccount | None, email: str):
    if account is None:
        known = (PortalAccount.select(PortalAccount, Client).join(Client)
                 .where(PortalAccount.email == normalize_email(email)).first())
        audit.record("portal.login.failure", practice=known.client.practice_id if known else None,
                     target_type="portal_account", target_id=known.id if known else None)
    else:
        audit.record("portal.login.success", practice=account.client.practice_id,
                     target_type="portal_account", target_id=account.id)


def start_session(account: PortalAccount) -> str:
    token = secrets.token_urlsafe(32)
    PortalSession.create(token=token, account=account)
    return token


def end_session(token: str | None):
    if token:
        PortalSession.delete().where(PortalSession.token == token).execute()


def load_account(token: str | None, idle: dt.timedelta, lifetime: dt.timedelta | None = None,
                 now: dt.datetime | None = None) -> PortalAccount | None:
    """The active portal account of a live session (client attached), or None. Idle and
    lifetime limits as for members (core/accounts.py keep_alive)."""
    if not token:
        return None
    row = (PortalSession.select(PortalSession, PortalAccount, Client)
           .join(PortalAccount).join(Client).where(PortalSession.token == token).first())
    if row is None or not row.account.active or not keep_alive(PortalSession, row, idle, lifetime, now):
        return None
    return row.account


# --- the client's own view ----------------------------------------------------------------------

def portal_overview(account: PortalAccount) -> dict:
    """Only this client's active goals (in plain words), their ratings and targets, and their
    homework. Never notes, comments or anything of anyone else. Fixed query count."""
    client_id = account.client_id
    goals = list(Goal.select(Goal, Plan).join(Plan)
                 .where((Plan.client == client_id) & (Plan.status == "active")
                        & Plan.deleted_at.is_null() & Goal.deleted_at.is_null())
                 .order_by(Plan.id, Goal.position, Goal.id))
    ids = [g.id for g in goals]
    objectives, ratings = {}, {}
    if ids:
        for row in (Objective.select().where(Objective.goal.in_(ids) & Objective.deleted_at.is_null())
                    .order_by(Objective.position, Objective.id)):
            objectives.setdefault(row.goal_id, []).append(row)
        for row in (ProgressEntry.select(ProgressEntry.goal, ProgressEntry.rating, SessionNote.date)
                    .join(SessionNote).where(ProgressEntry.goal.in_(ids)
                                             & ProgressEntry.rating.is_null(False))
                    .order_by(SessionNote.date, SessionNote.created_at).objects()):
            ratings.setdefault(row.goal_id, []).append((row.date, row.rating))
    scores = latest_scores(client_id)
    homework = list(Homework.select().where((Homework.client == client_id)
                                            & Homework.deleted_at.is_null())
                    .order_by(Homework.status != "assigned", Homework.due_date, Homework.id))
    return {"goals": [{"goal": g, "status": PLAIN_STATUS.get(g.status, g.status),
                       "objectives": objectives.get(g.id, []), "ratings": ratings.get(g.id, [])[-6:],
                       "target": target_status(g, scores)} for g in goals],
            "homework": homework, "plain_homework": PLAIN_HOMEWORK}


def own_homework(account: PortalAccount, homework_id: int, removed_too: bool = False) -> Homework:
    """This client's homework, or PortalNotFound (audited as access.denied). With
    `removed_too`, also homework the clinician removed (to say so instead of "not found")."""
    condition = (Homework.id == homework_id) & (Homework.client == account.client_id)
    if not removed_too:
        condition &= Homework.deleted_at.is_null()
    hw = Homework.get_or_none(condition)
    if hw is None:
        audit.denied(practice=account.client.practice_id, target_type="homework",
                     target_id=homework_id, detail=f"portal account {account.id}")
        raise PortalNotFound(homework_id)
    return hw


def answer_homework(account: PortalAccount, homework_id: int, status: str, feedback: str,
                    expected_version: int, base: dict) -> Homework:
    """The client's answer, merged with changes saved since the card was shown (core/merge.py).
    HomeworkRemoved when the clinician removed it meanwhile; EditConflict (with `values`)
    when the same field changed on both sides. Both refusals are audited, never the text."""
    hw = own_homework(account, homework_id, removed_too=True)
    practice = account.client.practice_id
    who = f"portal account {account.id}"
    try:
        if hw.deleted_at is not None:
            raise HomeworkRemoved(hw.id)
        try:
            with db.atomic():
                hw, write = record_client_answer(hw, status, feedback, expected_version, base)
                audit.record("portal.homework.update", practice=practice, target_type="homework",
                             target_id=hw.id, detail=f"{who}; {status}"
                             + ("; with feedback" if "feedback" in write else ""))
        except NotFound:  # removed between our check and the write
            raise HomeworkRemoved(hw.id) from None
    except HomeworkRemoved:
        audit.record("portal.homework.removed", practice=practice, target_type="homework",
                     target_id=hw.id, detail=who)
        raise
    except EditConflict as exc:
        exc.values = client_values(exc.current)
        audit.record("homework.conflict", practice=practice, target_type="homework",
                     target_id=hw.id, detail=f"{who}; both changed " + ", ".join(exc.fields))
        raise
    return hw
