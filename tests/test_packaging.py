"""Stepwise runs from a checkout: building a wheel for distribution is refused with a message
(it would lack templates/, static/ and template_library/). The editable install that `make venv`
performs is what every test run stands on."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_a_wheel_for_distribution_is_refused_with_the_reason(tmp_path):
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "--no-index", "-w", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "Stepwise runs from a checkout" in run.stdout + run.stderr
    assert not list(tmp_path.glob("*.whl"))
