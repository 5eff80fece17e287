from app import create_app
from core.models import Client
from tests.conftest import PASSWORD, TEST_CONFIG, in_db, parse_forms, pick_form


def test_post_without_csrf_token_is_refused(world, as_user):
    c = as_user(world.clin_a1)
    response = c.http.post("/clients/new", data={"first_name": "No", "last_name": "Token"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    wrong = c.http.post("/clients/new", data={"first_name": "No", "last_name": "Token",
                                              "csrf_token": "forged"})
    assert wrong.status_code == 400
    hx = c.http.post(f"/clients/{world.client_a1.id}/discharge", headers={"HX-Request": "true"})
    assert hx.status_code == 400
    with in_db():
        assert not Client.select().where(Client.last_name == "Token").exists()
        assert Client.get_by_id(world.client_a1.id).status == "active"


def test_csrf_header_is_accepted_for_htmx(world, as_user):
    c = as_user(world.clin_a1)
    response = c.send(f"/clients/{world.client_a1.id}/discharge", htmx=True)
    assert response.status_code == 303
    with in_db():
        assert Client.get_by_id(world.client_a1.id).status == "discharged"


def test_security_headers_on_pages(world, as_user):
    c = as_user(world.clin_a1)
    response = c.get(f"/clients/{world.client_a1.id}")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert "<script>" not in body and "onclick=" not in body
    assert 'hx-headers=\'{"X-CSRFToken"' in body


def test_session_cookie_flags(world, client):
    response = client.login(world.clin_a1.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookies_setting_marks_the_real_sign_in_cookie(world, app, monkeypatch):
    """SECURE_COOKIES=1 in the environment, as a deployment sets it: the cookie a sign-in over
    HTTPS actually sets carries Secure, HttpOnly and SameSite, and it signs the browser in."""
    monkeypatch.setenv("SECURE_COOKIES", "1")
    secure = create_app({**TEST_CONFIG, "DATABASE_URL": app.config["DATABASE_URL"]})
    http = secure.test_client()
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}
    page = http.get("/login", **https)
    form = pick_form(parse_forms(page.get_data(as_text=True)), "/login", "/login")
    response = http.post("/login", data=form.values({"email": world.clin_a1.email,
                                                     "password": PASSWORD}), **https)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    cookies = [c for c in response.headers.getlist("Set-Cookie")
               if c.startswith("stepwise_session=")]
    assert cookies, response.headers.getlist("Set-Cookie")
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookies[-1].split(";")[1:]}
    assert "secure" in flags and "httponly" in flags
    assert flags["samesite"].lower() == "samesite=lax"
    assert http.get("/clients", **https).status_code == 200


def test_error_pages_reveal_nothing(world, as_user, app, database_url):
    c = as_user(world.clin_a1)
    missing = c.get("/clients/999999")
    assert missing.status_code == 404
    assert "Traceback" not in missing.get_data(as_text=True)
    # A real crash, with TESTING off so the production handler answers.
    prod = create_app({**TEST_CONFIG, "TESTING": False, "DATABASE_URL": database_url})

    @prod.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internal detail")
    prod.config["_SET_UP"] = True
    from tests.conftest import Browserless
    pc = Browserless(prod)
    pc.login(world.clin_a1.email)
    response = pc.get("/boom-for-test")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret internal detail" not in text and "Traceback" not in text
    assert "Something went wrong" in text


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable(tmp_path):
    broken = create_app({**TEST_CONFIG, "AUTO_UPGRADE": False,
                         "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] != "ok"
