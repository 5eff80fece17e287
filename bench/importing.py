"""Import throughput: 1,000 generated template files through `flask --app app library import`."""
import random
import re
import shutil
import subprocess
import time

from bench.library_gen import Variations, starter_templates

FILES = 1000


def write_files(folder) -> int:
    """1,000 .md files (variations with their own seed, so they are new to the library)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    variations = Variations(starter_templates(), random.Random(4242))
    for n in range(FILES):
        _t, source, _html, _tags = variations.make(n, title_suffix=f" (import {n + 1})")
        (folder / f"template-{n + 1:04d}.md").write_text(source, encoding="utf-8")
    return FILES


def _run(flask, env, paths, owner):
    started = time.perf_counter()
    run = subprocess.run([str(flask), "--app", "app", "library", "import", *map(str, paths),
                          "--owner", owner], env=env, capture_output=True, text=True)
    match = re.search(r"Imported (\d+) template", run.stdout)
    return time.perf_counter() - started, int(match.group(1)) if match else 0, run


def import_throughput(flask, env: dict, folder, log_folder, owner: str = "clinician1@bench.example"):
    """{"per_s", "seconds", "imported", "status"}; per_s is None when the command is missing.

    All 1,000 files in one command; when the command refuses that many at once, in the
    largest batches it takes (the wall times of the batches added up)."""
    help_run = subprocess.run([str(flask), "--app", "app", "library", "import", "--help"],
                              env=env, capture_output=True, text=True)
    if help_run.returncode != 0:
        return {"per_s": None, "seconds": None, "imported": 0,
                "status": "missing: `flask --app app library import` is not available"}
    write_files(folder)
    files = sorted(folder.glob("*.md"))
    seconds, imported, run = _run(flask, env, [folder], owner)
    logs = [run.stdout + run.stderr]
    status = "ok, one command for 1,000 files (wall time, start-up included)"
    limit = re.search(r"the limit is (\d+) at once", run.stdout + run.stderr)
    if run.returncode != 0 and limit:
        size = int(limit.group(1))
        seconds, imported = 0.0, 0
        for first in range(0, len(files), size):
            took, count, run = _run(flask, env, files[first:first + size], owner)
            seconds, imported = seconds + took, imported + count
            logs.append(run.stdout + run.stderr)
            if run.returncode != 0:
                break
        status = (f"the command takes at most {size} files at once: {len(files) // size} "
                  f"commands of {size}, wall times added up (start-up included)")
    (log_folder / "import.log").write_text("\n".join(logs))
    if run.returncode != 0 or imported != FILES:
        return {"per_s": None, "seconds": round(seconds, 2), "imported": imported,
                "status": f"failed (exit {run.returncode}): "
                          + ((run.stdout + run.stderr).strip().splitlines() or ["no output"])[-1][:200]}
    return {"per_s": round(FILES / seconds, 1), "seconds": round(seconds, 2), "imported": imported,
            "status": status}
