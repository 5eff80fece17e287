"""A gunicorn server for the benchmark (started and stopped by process id), and the sign-in of a
clinician over HTTP: the session cookie and the CSRF token that wrk then sends."""
import http.client
import re
import socket
import subprocess
import time
import urllib.parse

_CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_CSRF_HEADER = re.compile(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'')
_COOKIE = "stepwise_session"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn -w N (sync workers) on 127.0.0.1, ready when `ready_path` answers 200."""

    def __init__(self, gunicorn, app: str, workers: int, env: dict, log, ready_path: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [str(gunicorn), "-w", str(workers), "-k", "sync",
                        "-b", f"127.0.0.1:{self.port}", "--error-logfile", str(log), app]
        self.env, self.ready_path = env, ready_path
        version = subprocess.run([str(gunicorn), "--version"], capture_output=True, text=True)
        number = re.search(r"\d+(\.\d+)+", version.stdout + version.stderr)
        self.version = (f"gunicorn {number.group(0) if number else '?'}, -w {workers} "
                        f"(sync workers), 127.0.0.1")
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(self.command, env=self.env,
                                        cwd=str(__import__("pathlib").Path(__file__).parent.parent))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: {self.command}")
            try:
                if fetch_status(self.url + self.ready_path) == 200:
                    time.sleep(1)  # let every worker finish booting
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError("gunicorn did not become ready in 90 s")

    def __exit__(self, *_exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _request(url: str, method="GET", cookie=None, headers=None, body=None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    all_headers = dict(headers or {})
    if cookie:
        all_headers["Cookie"] = cookie
    if body is not None:
        body = urllib.parse.urlencode(body)
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    path = parts.path + ("?" + parts.query if parts.query else "")
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    set_cookie = None
    for name, value in response.getheaders():
        if name.lower() == "set-cookie" and value.startswith(_COOKIE + "="):
            set_cookie = value.split(";", 1)[0]
    conn.close()
    return response.status, text, set_cookie


def fetch_status(url: str, cookie=None, hx=False) -> int:
    return _request(url, cookie=cookie, headers={"HX-Request": "true"} if hx else None)[0]


def sign_in(base: str, email: str, password: str) -> tuple[str, str]:
    """(Cookie header value, CSRF token) of a fresh signed-in session."""
    status, page, cookie = _request(base + "/login")
    token = _CSRF_FIELD.search(page).group(1)
    status, _text, new = _request(base + "/login", "POST", cookie,
                                  body={"email": email, "password": password, "csrf_token": token})
    if status != 303:
        raise RuntimeError(f"sign-in as {email} answered {status}")
    cookie = new or cookie
    for _ in range(2):  # the first page stores a fresh CSRF token in the new session
        status, page, new = _request(base + "/", cookie=cookie)
        cookie = new or cookie
    return cookie, _CSRF_HEADER.search(page).group(1)
