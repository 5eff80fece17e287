"""Practices, members, passwords, invitations and server-side sessions."""
import datetime as dt
import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from core import audit
from core.prepared import Prepared
from core.db import db, utcnow
from core.inputs import parse_id
from core.models import Invitation, Practice, User, UserSession

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
INVITATION_DAYS = 7
# scrypt (werkzeug's default): slow, salted, memory-hard. Tests may lower the cost via config.
PASSWORD_METHOD = {"value": "scrypt"}
_DUMMY_HASH = {}
_TOUCH_EVERY = dt.timedelta(seconds=60)


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


def load_session_user(token: str | None, user_id, idle: dt.timedelta) -> User | None:
    """The active user of a live session, or None. An idle session is deleted on sight."""
    user_id = parse_id(user_id)
    if not token or user_id is None:
        return None
    row = _SESSION_USER.first("session", token, user_id)
    if row is None or not row.user.active or not keep_alive(UserSession, row, idle):
        return None
    return row.user


def keep_alive(model, row, idle: dt.timedelta) -> bool:
    """False, and the session row deleted, when it sat idle longer than `idle`; otherwise True,
    with last_seen touched at most once a minute (not a write on every request).
    Shared by member sessions and client-portal sessions."""
    now = utcnow()
    if now - row.last_seen > idle:
        model.delete().where(model.id == row.id).execute()
        return False
    if now - row.last_seen > _TOUCH_EVERY:
        model.update(last_seen=now).where(model.id == row.id).execute()
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


def set_member_active(admin: User, member_id: int, active: bool) -> User:
    member = User.get_or_none((User.id == member_id) & (User.practice == admin.practice_id))
    if member is None:
        raise LookupError(member_id)
    if member.id == admin.id and not active:
        raise AccountError("You cannot deactivate your own account.")
    with db.atomic():
        User.update(active=active).where(User.id == member.id).execute()
        if not active:
            UserSession.delete().where(UserSession.user == member.id).execute()
        audit.record("member.activate" if active else "member.deactivate", admin,
                     target_type="user", target_id=member.id)
    member.active = active
    return member
