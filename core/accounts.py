"""Practices, members, passwords, invitations and server-side sessions."""
import datetime as dt
import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from core import audit
from core.prepared import Prepared
from core.db import db, utcnow
from core.merge import EditConflict, save_guarded
from core.inputs import parse_id
from core.models import Invitation, Practice, User, UserSession

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
INVITATION_DAYS = 7
# scrypt (werkzeug's default): slow, salted, memory-hard. Tests may lower the cost via config.
PASSWORD_METHOD = {"value": "scrypt"}
_DUMMY_HASH = {}
# last_seen is written at most this often (and at least every quarter of the idle timeout).
_TOUCH_AT_MOST = dt.timedelta(seconds=60)


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD["value"])


def password_problem(password: str) -> str | None:
    if len(password or "") < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    return None


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _dummy_hash():
    method = PASSWORD_METHOD["value"]
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _DUMMY_HASH[method]


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None; takes as long for unknown emails as for known."""
    user = User.get_or_none(User.email == normalize_email(email))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def record_failed_login(email: str):
    """Audit a failed sign-in under the account's practice when the email is known."""
    user = User.get_or_none(User.email == normalize_email(email))
    audit.record("login.failure", practice=user.practice_id if user else None,
                 target_type="user", target_id=user.id if user else None)


def is_first_run() -> bool:
    return not Practice.select().exists()


def create_user(practice, email: str, name: str, password: str, role: str = "clinician") -> User:
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("Enter a valid email address.")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    if role not in ("admin", "clinician"):
        raise AccountError("Unknown role.")
    if User.select().where(User.email == email).exists():
        raise AccountError("An account with this email already exists.")
    return User.create(practice=practice, email=email, name=(name or email).strip()[:200],
                       password_hash=hash_password(password), role=role)


def create_practice_with_admin(practice_name: str, name: str, email: str, password: str) -> User:
    if not (practice_name or "").strip():
        raise AccountError("Name the practice.")
    with db.atomic():
        if not is_first_run():
            raise AccountError("This server is already set up.")
        practice = Practice.create(name=practice_name.strip()[:200])
        return create_user(practice, email, name, password, role="admin")


# --- sessions ---------------------------------------------------------------------------------

def start_session(user: User) -> str:
    token = secrets.token_urlsafe(32)
    UserSession.create(token=token, user=user)
    return token


def end_session(token: str | None):
    if token:
        UserSession.delete().where(UserSession.token == token).execute()


# Runs on every request: compiled once (see core/prepared.py).
_SESSION_USER = Prepared(lambda token, user_id: (
    UserSession.select(UserSession, User).join(User)
    .where((UserSession.token == token) & (UserSession.user == user_id)).limit(1)))


def load_session_user(token: str | None, user_id, idle: dt.timedelta,
                      lifetime: dt.timedelta | None = None, now: dt.datetime | None = None
                      ) -> User | None:
    """The active user of a live session, or None. A session idle too long, or older than
    `lifetime` however busy, is deleted on sight. `now` is for tests (the real clock otherwise)."""
    user_id = parse_id(user_id)
    if not token or user_id is None:
        return None
    row = _SESSION_USER.first("session", token, user_id)
    if row is None or not row.user.active or not keep_alive(UserSession, row, idle, lifetime, now):
        return None
    return row.user


def touch_step(idle: dt.timedelta) -> dt.timedelta:
    """How stale last_seen may get before a request rewrites it: a minute, or a quarter of
    the idle timeout when that is shorter (so a short timeout is not dominated by it)."""
    return min(_TOUCH_AT_MOST, idle / 4)


def keep_alive(model, row, idle: dt.timedelta, lifetime: dt.timedelta | None = None,
               now: dt.datetime | None = None) -> bool:
    """False, and the session row deleted, when the session sat idle longer than `idle` or is
    older than `lifetime`; otherwise True. Shared by member and client-portal sessions.

    last_seen is not written on every request, only when it is `step` (touch_step) or more
    behind. So the newest request came before last_seen + step (a later one would have
    written), and a session is idle past `idle` only once now > last_seen + step + idle:
    expiring at that point never signs out someone early, and at most `step` late (15 s
    late for a 1-minute timeout, a minute for 30). One write per session per `step`.
    """
    now = now or utcnow()
    step = touch_step(idle)
    too_old = lifetime is not None and now - row.created_at > lifetime
    if too_old or now - row.last_seen > idle + step:
        model.delete().where(model.id == row.id).execute()
        return False
    if now - row.last_seen >= step:
        # "< now": a slower concurrent request never moves last_seen backwards.
        model.update(last_seen=now).where((model.id == row.id) & (model.last_seen < now)).execute()
        row.last_seen = now
    return True


# --- members ----------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(admin: User, email: str, name: str = "", role: str = "clinician") -> str:
    """Create an invitation and return its raw token (only its hash is stored)."""
    email = normalize_email(email)
    if "@" not in email:
        raise AccountError("Enter a valid email address.")
    if role not in ("admin", "clinician"):
        raise AccountError("Unknown role.")
    if User.select().where(User.email == email).exists():
        raise AccountError("An account with this email already exists.")
    token = secrets.token_urlsafe(32)
    inv = Invitation.create(practice=admin.practice_id, email=email, name=(name or "").strip()[:200],
                            role=role, token_hash=_token_hash(token), invited_by=admin,
                            expires_at=utcnow() + dt.timedelta(days=INVITATION_DAYS))
    audit.record("member.invite", admin, target_type="invitation", target_id=inv.id)
    return token


def open_invitation(token: str) -> Invitation | None:
    inv = Invitation.get_or_none(Invitation.token_hash == _token_hash(token or ""))
    if inv is None or inv.used_at is not None or inv.expires_at < utcnow():
        return None
    return inv


def accept_invitation(token: str, name: str, password: str) -> User:
    with db.atomic():
        inv = open_invitation(token)
        if inv is None:
            raise AccountError("This invitation link is no longer valid. Ask your admin for a new one.")
        # Single use even under a race: only one request can flip used_at from NULL.
        claimed = (Invitation.update(used_at=utcnow())
                   .where((Invitation.id == inv.id) & Invitation.used_at.is_null()).execute())
        if not claimed:
            raise AccountError("This invitation link is no longer valid. Ask your admin for a new one.")
        user = create_user(inv.practice_id, inv.email, name or inv.name, password, inv.role)
        audit.record("member.join", user, target_type="user", target_id=user.id)
        return user


def members_of(practice_id: int):
    return User.select().where(User.practice == practice_id).order_by(User.name)


def set_member_active(admin: User, member_id: int, active: bool, expected_version: int = 0,
                      base: dict | None = None) -> tuple[User, bool]:
    """Activate or deactivate a member from the members page, merged (core/merge.py) with a
    colleague's change since the page was shown. Returns (member, changed): not changed when
    the member already was in that state (another admin did it meanwhile)."""
    member = User.get_or_none((User.id == member_id) & (User.practice == admin.practice_id))
    if member is None:
        raise LookupError(member_id)
    if member.id == admin.id and not active:
        raise AccountError("You cannot deactivate your own account.")
    try:
        with db.atomic():
            _before, write = save_guarded(User, member.id, expected_version, {"active": active},
                                          base or {}, where=User.practice == admin.practice_id)
            if write and not active:
                UserSession.delete().where(UserSession.user == member.id).execute()
            if write:
                audit.record("member.activate" if active else "member.deactivate", admin,
                             target_type="user", target_id=member.id)
    except EditConflict:
        audit.record("member.conflict", admin, target_type="user", target_id=member.id)
        raise
    member.active = active
    return member, bool(write)
