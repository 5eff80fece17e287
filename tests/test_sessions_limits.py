"""Sessions end when idle (never early) or past their absolute lifetime; failed sign-ins are
limited per (account, address) pair and per address, so nobody can lock a colleague out.

Time is moved by shifting the session rows' timestamps back (the real clock, real rows), or by
passing `now` to the session check."""
import datetime as dt
import random

import pytest

from app import create_app
from core import accounts, portal
from core.accounts import hash_password, touch_step
from core.db import utcnow
from core.models import PortalAccount, PortalSession, UserSession
from tests.conftest import PASSWORD, TEST_CONFIG, Browserless, in_db

MINUTE = dt.timedelta(minutes=1)


def elapse(model, seconds):
    """As if `seconds` passed: every session row's timestamps move that far into the past."""
    delta = dt.timedelta(seconds=seconds)
    with in_db():
        for row in model.select():
            model.update(last_seen=row.last_seen - delta, created_at=row.created_at - delta).where(
                model.id == row.id).execute()


def test_touch_step_is_a_minute_or_a_quarter_of_the_timeout():
    assert touch_step(30 * MINUTE) == MINUTE
    assert touch_step(MINUTE) == dt.timedelta(seconds=15)


def test_working_session_outlives_a_one_minute_idle_timeout(app, world, as_user):
    app.config["SESSION_IDLE"] = MINUTE
    c = as_user(world.clin_a1)
    # Requests at 20, 40, 55 and 65 s after sign-in: never a minute idle, so never signed out.
    for gap in (20, 20, 15, 10, 59):
        elapse(UserSession, gap)
        assert c.get("/clients").status_code == 200, f"signed out after a {gap} s gap"
    # 76 s without a request (the last one at 124 s wrote last_seen): gone, on the server too.
    elapse(UserSession, 76)
    response = c.get("/clients")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with in_db():
        assert UserSession.select().count() == 0


def test_last_seen_is_written_once_per_step_not_on_every_request(app, world, as_user):
    app.config["SESSION_IDLE"] = 30 * MINUTE
    c = as_user(world.clin_a1)
    with in_db():
        first = UserSession.get().last_seen
    for _ in range(3):
        assert c.get("/clients").status_code == 200
    with in_db():
        assert UserSession.get().last_seen == first
    elapse(UserSession, 61)
    assert c.get("/clients").status_code == 200
    with in_db():
        assert UserSession.get().last_seen > first  # moved back 61 s, then written anew


@pytest.mark.parametrize("idle_minutes", [1, 2, 5, 30, 240])
def test_no_setting_expires_a_session_early_or_late_by_more_than_a_step(app, world, idle_minutes):
    """Random request schedules with every gap within the timeout: always alive. Then one gap
    of exactly the timeout (alive), then the timeout plus the step and a second (gone)."""
    idle, rng = idle_minutes * MINUTE, random.Random(idle_minutes)
    step = touch_step(idle)
    with in_db():
        for trial in range(4):
            token = accounts.start_session(world.clin_a1)
            t = UserSession.get(UserSession.token == token).created_at
            for _ in range(12):
                t += dt.timedelta(seconds=rng.uniform(0, idle.total_seconds()))
                assert accounts.load_session_user(token, world.clin_a1.id, idle, now=t), trial
            t += idle
            assert accounts.load_session_user(token, world.clin_a1.id, idle, now=t)
            t += idle + step + dt.timedelta(seconds=1)
            assert accounts.load_session_user(token, world.clin_a1.id, idle, now=t) is None
            assert not UserSession.select().where(UserSession.token == token).exists()


def test_absolute_lifetime_ends_a_busy_session(app, world, as_user):
    c = as_user(world.clin_a1)
    lifetime = app.config["SESSION_MAX"]
    assert lifetime == dt.timedelta(hours=12)
    with in_db():  # signed in 11 h 59 min ago, busy ever since
        UserSession.update(created_at=utcnow() - lifetime + MINUTE).execute()
    assert c.get("/clients").status_code == 200
    with in_db():
        UserSession.update(created_at=utcnow() - lifetime - dt.timedelta(seconds=1),
                           last_seen=utcnow()).execute()
    response = c.get("/clients")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with in_db():
        assert UserSession.select().count() == 0


def _portal_account(world):
    with in_db():
        return PortalAccount.create(client=world.client_a1.id, email="ada@example.org",
                                    password_hash=hash_password(PASSWORD))


def portal_sign_in(app, email="ada@example.org", password=PASSWORD, address="127.0.0.1"):
    c = Browserless(app)
    c.http.environ_base["REMOTE_ADDR"] = address
    return c, c.submit("/portal/login", {"email": email, "password": password})


def test_portal_session_has_the_same_idle_rule_and_lifetime(app, world):
    _portal_account(world)
    app.config["SESSION_IDLE"] = MINUTE
    c, response = portal_sign_in(app)
    assert response.status_code == 303
    for gap in (20, 20, 15, 10):
        elapse(PortalSession, gap)
        assert c.get("/portal/").status_code == 200
    with in_db():
        PortalSession.update(created_at=utcnow() - app.config["SESSION_MAX"] - MINUTE).execute()
    assert c.get("/portal/").status_code == 302
    with in_db():
        assert PortalSession.select().count() == 0


def test_core_portal_check_takes_the_clock(app, world):
    account = _portal_account(world)
    with in_db():
        token = portal.start_session(account)
        start = PortalSession.get().created_at
        hours = dt.timedelta(hours=2)
        assert portal.load_account(token, 30 * MINUTE, hours, now=start + 29 * MINUTE)
        assert portal.load_account(token, 30 * MINUTE, hours, now=start + hours + MINUTE) is None


def test_session_max_hours_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SESSION_MAX_HOURS", "2.5")
    app = create_app({**TEST_CONFIG, "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db")})
    assert app.config["SESSION_MAX"] == dt.timedelta(hours=2, minutes=30)


# --- sign-in limits -----------------------------------------------------------------------------

def browser_at(app, address):
    c = Browserless(app)
    c.http.environ_base["REMOTE_ADDR"] = address
    return c


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(app, world):
    attacker = browser_at(app, "203.0.113.9")
    codes = [attacker.login(world.clin_a1.email, f"guess number {i}").status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    # Even the right password is refused to that address now, for that account...
    assert browser_at(app, "203.0.113.9").login(world.clin_a1.email).status_code == 429
    # ...but the owner, at their own desk, signs in.
    assert browser_at(app, "198.51.100.7").login(world.clin_a1.email).status_code == 303


def test_one_address_trying_many_accounts_is_stopped(app, world):
    sprayer = browser_at(app, "203.0.113.10")
    for i in range(20):
        assert sprayer.login(f"person{i}@example.org", "Winter2026!Winter").status_code == 401
    assert sprayer.login(world.clin_a2.email).status_code == 429
    assert browser_at(app, "198.51.100.8").login(world.clin_a2.email).status_code == 303


def test_successful_sign_ins_do_not_count(app, world):
    for _ in range(8):
        assert browser_at(app, "198.51.100.9").login(world.clin_a1.email).status_code == 303


def test_optional_per_account_cap_counts_every_address(app, world):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "3 per hour"
    for i in range(3):
        assert browser_at(app, f"203.0.113.{20 + i}").login(world.clin_a1.email,
                                                             "a wrong password").status_code == 401
    assert browser_at(app, "198.51.100.10").login(world.clin_a1.email).status_code == 429


def test_portal_sign_in_limits_per_pair_and_address(app, world):
    _portal_account(world)
    codes = [portal_sign_in(app, password=f"guess {i}", address="203.0.113.30")[1].status_code
             for i in range(6)]
    assert codes == [401] * 5 + [429]
    assert portal_sign_in(app, address="198.51.100.11")[1].status_code == 303
    for i in range(20):
        assert portal_sign_in(app, f"x{i}@example.org", "nope nope nope",
                              address="203.0.113.31")[1].status_code == 401
    assert portal_sign_in(app, address="203.0.113.31")[1].status_code == 429
