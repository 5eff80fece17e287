"""Start-up on a fresh database with several processes at once: every worker of every server
runs create_app(), and with AUTO_UPGRADE=1 each tries the migrations (core/migrations.py runs
them once, under a lock). Real processes, a real SQLite file and a real PostgreSQL database."""
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core import migrations

ROOT = Path(__file__).resolve().parent.parent
# Each process imports the app first, then waits for a common instant: the four upgrades
# then really start together instead of one import-time apart.
START = ("import sys, time\n"
         "from app import create_app\n"
         "time.sleep(max(0.0, float(sys.argv[1]) - time.time()))\n"
         "create_app()\n")


def _env(database_url, tmp_path):
    return {**os.environ, "DATABASE_URL": database_url, "STEPWISE_INSTANCE": str(tmp_path),
            "SECRET_KEY": "startup-test-secret", "AUTO_UPGRADE": "1",
            "PYTHONPATH": str(ROOT)}


def _versions(database_url) -> list[tuple[int, int]]:
    """(version, how many rows) of schema_version, read past the app."""
    sql = "SELECT version, COUNT(*) FROM schema_version GROUP BY version ORDER BY version"
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url[len("sqlite:///"):]) as conn:
            return conn.execute(sql).fetchall()
    import psycopg2
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def _each_step_once(database_url):
    assert _versions(database_url) == [(number, 1) for number, _name, _step in migrations.MIGRATIONS]


def test_four_processes_starting_at_once_upgrade_a_fresh_database_once(database_url, tmp_path):
    at = time.time() + 4
    procs = [subprocess.Popen([sys.executable, "-c", START, str(at)], cwd=ROOT,
                              env=_env(database_url, tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(4)]
    outputs = []
    for proc in procs:
        try:
            outputs.append(proc.communicate(timeout=120)[0])
        except subprocess.TimeoutExpired:
            for other in procs:
                other.kill()
            pytest.fail("a process did not finish starting within 2 minutes")
    assert [p.returncode for p in procs] == [0, 0, 0, 0], "\n----\n".join(outputs)
    _each_step_once(database_url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_with_four_workers_boots_on_a_fresh_database(database_url, tmp_path):
    """The issue's failure: `gunicorn -w 4 'app:create_app()'` on a fresh PostgreSQL database,
    each worker upgrading at once, did not boot. Every worker must boot and the site answer
    (on SQLite too, where four workers switch a new file to WAL at once)."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    port = _free_port()
    config = tmp_path / "gunicorn_conf.py"
    config.write_text("def post_worker_init(worker):\n"
                      "    worker.log.info('stepwise worker ready')\n")
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(gunicorn), "-w", "4", "-b", f"127.0.0.1:{port}", "-c", str(config),
             "app:create_app()"], cwd=ROOT, env=_env(database_url, tmp_path),
            stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while log.read_text().count("stepwise worker ready") < 4:
            assert server.poll() is None, "gunicorn exited:\n" + log.read_text()
            assert time.time() < deadline, "workers not ready:\n" + log.read_text()
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
        text = log.read_text()
        assert "Traceback" not in text and "exited with code" not in text, text
        assert server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    _each_step_once(database_url)
