"""The input layer: each parser's bounds, the app-wide `int` converter, the refusal of control
characters, and the places that used to crash (each on SQLite and PostgreSQL)."""
import datetime as dt

import pytest

from core import plans
from core.inputs import (INT_MAX, InputError, add_days, clean_text, parse_date, parse_id,
                         parse_ids, parse_int, parse_version, text_problem)
from core.models import Client
from tests.conftest import in_db
from tests.test_notes import make_plan


@pytest.mark.parametrize("raw, expected", [
    ("1", 1), (" 42 ", 42), (str(INT_MAX), INT_MAX), (INT_MAX, INT_MAX), (7, 7),
    (str(INT_MAX + 1), None), (str(2**63), None), ("0", None), ("-1", None), ("", None),
    (None, None), ("²", None), ("١٢", None), ("٣", None), ("1e9", None), ("1.0", None),
    ("0x1f", None), ("1_000", None), ("9" * 5000, None), (True, None), ("\x001", None),
])
def test_parse_id_takes_ascii_digits_within_a_postgresql_integer(raw, expected):
    assert parse_id(raw) == expected


def test_versions_ints_and_id_lists():
    assert parse_version("0") == 0 and parse_version(str(INT_MAX + 1)) is None
    assert parse_int("-5", -10, 10) == -5 and parse_int("-5") is None and parse_int("11", 0, 10) is None
    assert parse_ids(["3", "x", "3", "²", "2147483648", "1"]) == [3, 1]


@pytest.mark.parametrize("raw, message", [
    ("2026-02-30", "does not exist"), ("9999-12-31", "between"), ("0001-01-01", "between"),
    ("10000-01-01", "YYYY-MM-DD"), ("２０２６-01-01", "YYYY-MM-DD"), ("20260101", "YYYY-MM-DD"),
    ("2026-W01-1", "YYYY-MM-DD"), ("1e9999", "YYYY-MM-DD"),
])
def test_parse_date_refuses_what_is_no_sane_date(raw, message):
    with pytest.raises(InputError, match=message):
        parse_date(raw)


def test_parse_date_and_safe_arithmetic():
    assert parse_date(" 2026-03-01 ") == dt.date(2026, 3, 1) and parse_date("") is None
    assert add_days(dt.date(2026, 1, 1), 7) == dt.date(2026, 1, 8)
    assert add_days(dt.date(9999, 12, 31), 1) is None and add_days(dt.date(2200, 12, 31), 1) is None


def test_timeframe_after_a_date_near_the_end_of_time_is_no_date_not_a_crash():
    # A start date stored before dates were bounded can sit at date.max.
    end = dt.date(9999, 12, 31)
    assert [plans.timeframe_to_date(t, end) for t in ("3 days", "12 weeks", "6 months", "999 years")] \
        == [None] * 4
    assert plans.timeframe_to_date("12 weeks", dt.date(2026, 1, 5)) == dt.date(2026, 3, 30)
    assert plans.timeframe_to_date("١٢ weeks", dt.date(2026, 1, 5)) is None


def test_text_with_control_characters_is_refused_but_tabs_and_newlines_are_text():
    assert text_problem("line one\n\tline two\r\n") is None
    for bad in ("a\x00b", "\x01", "\x1b[31m", "\x7f", "\ud800"):
        assert text_problem(bad)
        with pytest.raises(InputError):
            clean_text(bad)
    with pytest.raises(InputError, match="At most 3"):
        clean_text("abcd", max_len=3)


# --- through the app ----------------------------------------------------------------------

@pytest.mark.parametrize("segment", ["2147483648", "9223372036854775808", "99999999999", "%C2%B2",
                                     "%D9%A1%D9%A2", "0", "-1", "%00", "%FF%FE"])
def test_an_id_that_cannot_exist_is_a_plain_404(world, as_user, segment):
    c = as_user(world.clin_a1)
    assert c.get(f"/clients/{segment}").status_code == 404
    assert c.send(f"/clients/{segment}/edit", {"first_name": "X", "last_name": "Y"}).status_code == 404


def test_nul_anywhere_in_a_request_is_refused_with_a_clear_400(world, as_user):
    c = as_user(world.clin_a1)
    for response in (c.get("/clients?q=a%00b"),
                     c.send(f"/clients/{world.client_a1.id}/edit",
                            {"first_name": "Ada\x00", "last_name": "Lovelace"}),
                     c.send(f"/clients/{world.client_a1.id}/edit", {"first\x01name": "Ada"})):
        assert response.status_code == 400
        assert "control characters" in response.get_data(as_text=True)
    with in_db():
        assert Client.get_by_id(world.client_a1.id).first_name == "Ada"
    # The portal and the sign-in page are covered too (no session needed to be refused).
    assert c.http.post("/portal/login", data={"email": "a\x00@b.c"}).status_code == 400


def test_a_unicode_digit_does_not_choose_a_colleague(world, as_user):
    """'٣'.isdigit() is True and int('٣') == 3: it used to make user 3 the primary clinician."""
    c = as_user(world.clin_a1)
    response = c.send(f"/clients/{world.client_a1.id}/edit",
                      {"first_name": "Ada", "last_name": "Lovelace",
                       "primary_clinician": "٣" if world.clin_a2.id == 3 else str(world.clin_a2.id)})
    assert response.status_code in (303, 422)
    with in_db():
        client = Client.get_by_id(world.client_a1.id)
    if world.clin_a2.id == 3:
        assert client.primary_clinician_id == world.clin_a1.id


def test_malformed_query_numbers_are_a_400_that_says_which(world, as_user):
    admin = as_user(world.admin_a)
    for query in ("page=%C2%B2", "page=2147483648", "user=-1", "user=9223372036854775808"):
        response = admin.get(f"/admin/audit?{query}")
        assert response.status_code == 400, query
        assert query.split("=")[0] in response.get_data(as_text=True)
    assert admin.get("/admin/audit?page=1&user=").status_code == 200


def test_a_version_past_the_column_range_is_refused_not_a_crash(world, as_user):
    plan, (goal,) = make_plan(world.client_a1)
    c = as_user(world.clin_a1)
    for version in ("2147483648", "9223372036854775808", "²"):
        response = c.send(f"/goals/{goal.id}", {"title": "T", "version": version}, htmx=True)
        assert response.status_code == 400, version


def test_dates_out_of_range_are_a_form_error(world, as_user):
    plan, _goals = make_plan(world.client_a1)
    c = as_user(world.clin_a1)
    with in_db():
        version = type(plan).get_by_id(plan.id).version
    response = c.send(f"/plans/{plan.id}", {"title": "P", "start_date": "9999-12-31",
                                             "version": str(version)})
    assert response.status_code == 422
    assert "between 1900-01-01 and 2200-12-31" in response.get_data(as_text=True)


def test_malformed_hx_current_url_on_a_signed_out_htmx_request_goes_to_sign_in(app, world):
    c = app.test_client()
    response = c.get("/clients", headers={"HX-Request": "true", "HX-Current-URL": "http://["})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_browser_a_refused_control_character_says_why_and_keeps_the_typing(world, live_server,
                                                                           browser_context):
    from tests.conftest import browser_login
    plan, (goal,) = make_plan(world.client_a1, ("Worry less",))
    page = browser_context().new_page()
    browser_login(page, live_server.url, world.clin_a1.email)
    page.goto(f"{live_server.url}/plans/{plan.id}")
    card = f"#goal-{goal.id}"
    page.click(f"{card} >> text=Edit")
    page.wait_for_selector(f"{card} form input[name=title]")
    # A form feed pasted from another program: invisible, and not storable text.
    page.eval_on_selector(f"{card} input[name=title]", "el => el.value = 'Worry less\\f at work'")
    page.click(f"{card} button:has-text('Save goal')")
    page.wait_for_selector("#flash >> text=control characters")
    assert page.input_value(f"{card} input[name=title]") == "Worry less\f at work"
