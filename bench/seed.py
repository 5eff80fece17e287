"""Deterministic dataset for the benchmark, written with bulk inserts into a fresh database.

One practice, 12 clinicians, 600 clients, each with an active plan of 4 to 8 goals (3 objectives,
2 interventions, 2 homework suggestions per goal), 12 session notes per client with a progress
entry per goal, homework with feedback, measure scores, one plan of exactly 20 goals, and a library
of 10,000 templates with versions, tags and the full-text index.

    python -m bench.seed sqlite:///bench/out/seed.db
"""
import datetime as dt
import random
import sys
import time

from peewee import chunked

from core import migrations
from core.accounts import hash_password
from core.db import db, is_sqlite, make_database
from core.models import (Agreement, CareTeamMember, Client, Goal, Homework, HomeworkSuggestion,
                         Intervention, MeasureScore, Objective, Plan, Practice, ProgressEntry,
                         SessionNote, Template, TemplateTag, TemplateVersion, User)
from core.plans import KNOWN_FIELDS
from core.rendering import render_markdown
from core.search import index_template
from core.template_format import fill_placeholders, template_to_search_text
from bench.library_gen import Variations, starter_templates

PASSWORD = "bench-password-not-secret"
CLINICIANS, CLIENTS, NOTES_PER_CLIENT, TEMPLATES = 12, 600, 12, 10_000
BIG_PLAN_GOALS = 20
FIRST = ["Ana", "Ben", "Chloe", "Dmitri", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jada", "Kofi",
         "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Vik",
         "Wen", "Xavi", "Yara", "Zane", "Aiko", "Bruno", "Carmen", "Dev"]
LAST = ["Abbott", "Baker", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
        "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi",
        "Singh", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zhou", "Novak", "Olsen"]
NOTE_BODIES = [
    "**Data:** {n} attended on time and reported a mixed week. Completed most of the log.\n\n"
    "**Assessment:** Engaged and reflective; {skill} is starting to generalize.\n\n"
    "**Plan:** Continue weekly; review the log and practise {skill} before next session.",
    "**Data:** Reported two difficult days at work; used {skill} once.\n\n**Assessment:** "
    "Symptoms stable, motivation good.\n\n**Plan:** Add one planned activity per day.",
    "**Subjective:** Feels 'a bit lighter'. Sleep improved to six hours.\n\n**Objective:** "
    "Calm, good eye contact.\n\n**Assessment:** Progressing toward goals.\n\n**Plan:** Keep "
    "{skill}; revisit triggers.",
    "**Data:** Missed homework this week because of a family visit.\n\n**Assessment:** "
    "Barriers are practical rather than motivational.\n\n**Plan:** Problem-solve a smaller step.",
]
SKILLS = ["paced breathing", "thought records", "activity scheduling", "time-outs",
          "worry postponement", "sleep restriction", "grounding", "assertive requests"]
FEEDBACK = ["Did it four times; it got easier.", "Hard at first, then helpful.",
            "Only managed twice, busy week.", "Felt silly but it worked on Tuesday.", ""]
INSTRUMENTS = [("PHQ-9", 27), ("GAD-7", 21), ("PCL-5", 80), ("AUDIT", 40)]


def _bulk(model, rows, size=400):
    for batch in chunked(rows, size):
        model.insert_many(batch).execute()


def _reset_sequences(models):
    """Rows were inserted with explicit ids: move PostgreSQL's sequences past them."""
    if is_sqlite():
        return
    for model in models:
        table = model._meta.table_name
        db.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                       f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 1))")


def _library(rng, practice_id, clinician_ids, starters):
    """10,000 templates: the starters (public, like `library load`) plus variations."""
    variations = Variations(starters, rng)
    templates, versions, tags, index = [], [], [], []
    now = dt.datetime(2025, 1, 1)
    for n in range(TEMPLATES):
        tid = n + 1
        if n < len(starters):
            stem, source, parsed = starters[n]
            html = variations.html(parsed, [(n, i, g.fields.get("Timeframe", ""))
                                            for i, g in enumerate(parsed.goals)])
            tag_list, owner, visibility, key = list(parsed.meta.get("tags", [])), None, "public", stem
        else:
            parsed, source, html, tag_list = variations.make(n)
            owner = rng.choice(clinician_ids)
            visibility = rng.choices(["public", "practice", "private"], [5, 3, 2])[0]
            key = None
        seen, clean_tags = set(), []
        for tag in tag_list:
            if tag.lower() not in seen:
                seen.add(tag.lower())
                clean_tags.append(tag[:80])
        created = now - dt.timedelta(minutes=n * 7)
        templates.append({
            "id": tid, "owner": owner, "practice": None if owner is None else practice_id,
            "visibility": visibility, "title": parsed.meta["title"][:300],
            "problem": parsed.meta.get("problem", "")[:200],
            "summary": parsed.meta.get("summary", ""), "author": parsed.meta.get("author", ""),
            "current_version": 1, "uses": rng.randint(0, 40), "fork_count": rng.randint(0, 6),
            "source_key": key, "created_at": created, "updated_at": created})
        versions.append({"id": tid, "template": tid, "number": 1, "source": source, "html": html,
                         "created_by": owner, "created_at": created})
        tags += [{"template": tid, "tag": t} for t in clean_tags]
        index.append((tid, templates[-1]["title"], " ".join(clean_tags),
                      template_to_search_text(parsed)))
    _bulk(Template, templates)
    _bulk(TemplateVersion, versions, 100)
    _bulk(TemplateTag, tags)
    for row in index:
        index_template(*row)


def _plans(rng, starters, clients, big_plan_client, five_plan_client):
    """An active plan per client from a starter template, its goals and their parts."""
    plans, goals, objectives, interventions, suggestions, agreements = [], [], [], [], [], []
    plan_goals = {}
    pool = [(t, g) for t, (_s, _src, parsed) in enumerate(starters) for g in range(len(parsed.goals))]
    sections = {}
    for client in clients:
        t_index = rng.randrange(len(starters))
        parsed = starters[t_index][2]
        values = {"client_first_name": client["first_name"], "client_name": client["first_name"]}
        if t_index not in sections:
            sections[t_index] = [{"title": s.title, "body": s.body, "html": render_markdown(s.body)}
                                 for s in parsed.sections]
        count = rng.randint(4, 8)
        if client["id"] == big_plan_client:
            count = BIG_PLAN_GOALS
        elif client["id"] == five_plan_client:
            count = 5
        picks = [(t_index, g) for g in range(len(parsed.goals))] + rng.sample(pool, len(pool))
        start = dt.date(2025, 9, 1) - dt.timedelta(days=rng.randint(0, 120))
        plan_id = client["id"]
        plans.append({"id": plan_id, "client": client["id"], "title": parsed.meta["title"],
                      "problem": fill_placeholders(parsed.problem, values), "status": "active",
                      "start_date": start, "review_date": start + dt.timedelta(weeks=4),
                      "template_version": t_index + 1, "sections": sections[t_index],
                      "version": 1, "created_by": client["primary_clinician"]})
        agreements.append({"plan": plan_id, "client_name": client["first_name"] + " " +
                           client["last_name"], "agreed_on": start, "plan_version": 1,
                           "recorded_by": client["primary_clinician"],
                           "at": dt.datetime.combine(start, dt.time(10))})
        plan_goals[plan_id] = []
        for position, (ti, gi) in enumerate(picks[:count]):
            g = starters[ti][2].goals[gi]
            gid = len(goals) + 1
            fields = {k: fill_placeholders(v, values) for k, v in g.fields.items()}
            known = {attr: fields.pop(key, "")[:200] for attr, key in KNOWN_FIELDS.items()}
            goals.append({"id": gid, "plan": plan_id, "position": position,
                          "title": fill_placeholders(g.title, values)[:300], "extra_fields": fields,
                          "target_date": start + dt.timedelta(weeks=12),
                          "status": rng.choice(["not started", "in progress", "in progress"]),
                          "version": 1, **known})
            plan_goals[plan_id].append(gid)
            for rows, items, n in ((objectives, g.objectives, 3), (interventions, g.interventions, 2),
                                   (suggestions, g.homework, 2)):
                for i, text in enumerate((items * 3)[:n]):
                    row = {"id": len(rows) + 1, "goal": gid, "position": i,
                           "text": fill_placeholders(text, values)}
                    if rows is objectives:
                        row["status"] = rng.choice(["not started", "in progress", "achieved"])
                    rows.append(row)
    _bulk(Plan, plans, 200)
    _bulk(Agreement, agreements)
    _bulk(Goal, goals, 200)
    for model, rows in ((Objective, objectives), (Intervention, interventions),
                        (HomeworkSuggestion, suggestions)):
        _bulk(model, rows)
    return plan_goals, suggestions


def _sessions(rng, clients, plan_goals, suggestions):
    """12 weekly notes per client with progress per goal, homework with feedback, scores."""
    bodies = [b.format(n="Client", skill=s) for b in NOTE_BODIES for s in SKILLS]
    html = {b: render_markdown(b) for b in bodies}  # rendered once per distinct body
    by_goal = {}
    for s in suggestions:
        by_goal.setdefault(s["goal"], []).append(s["text"])
    notes, progress, homework, scores = [], [], [], []
    for client in clients:
        cid, clinician = client["id"], client["primary_clinician"]
        goal_ids = plan_goals[cid]
        first = dt.date(2025, 9, 1)
        for week in range(NOTES_PER_CLIENT):
            day = first + dt.timedelta(weeks=week)
            body = rng.choice(bodies)
            at = dt.datetime.combine(day, dt.time(9 + week % 8))
            nid = len(notes) + 1
            notes.append({"id": nid, "client": cid, "clinician": clinician, "plan": cid,
                          "date": day, "format": "DAP", "body": body, "body_html": html[body],
                          "signed_at": at + dt.timedelta(hours=1) if week < 11 else None,
                          "created_at": at, "updated_at": at})
            for gid in goal_ids:
                progress.append({"note": nid, "goal": gid, "rating": rng.randint(2, 9),
                                 "status_change": "", "no_change": rng.random() < 0.3,
                                 "comment": rng.choice(["", "", "Steady.", "Better this week."]),
                                 "created_at": at})
            if week % 2 == 0:
                gid = rng.choice(goal_ids)
                status = "assigned" if week >= 10 else rng.choice(["done", "done", "skipped"])
                feedback = rng.choice(FEEDBACK) if status != "assigned" else ""
                homework.append({"client": cid, "plan": cid, "goal": gid,
                                 "text": rng.choice(by_goal[gid]), "due_date": day + dt.timedelta(days=7),
                                 "status": status, "feedback": feedback,
                                 "feedback_at": at + dt.timedelta(days=5) if feedback else None,
                                 "feedback_seen": week < 8,
                                 "completed_at": at + dt.timedelta(days=5) if status == "done" else None,
                                 "assigned_by": clinician, "created_at": at})
        for instrument, top in rng.sample(INSTRUMENTS, 2):
            for k in range(3):
                scores.append({"client": cid, "instrument": instrument,
                               "score": max(0, int(top * (0.6 - 0.1 * k) + rng.randint(-2, 2))),
                               "taken_on": first + dt.timedelta(weeks=4 * k),
                               "recorded_by": clinician})
    _bulk(SessionNote, notes, 200)
    _bulk(ProgressEntry, progress, 500)
    _bulk(Homework, homework, 200)
    _bulk(MeasureScore, scores)


def seed(url: str, random_seed: int = 20251126) -> dict:
    """Fill the fresh database at `url`; returns what the benchmark needs to know about it."""
    started = time.perf_counter()
    rng = random.Random(random_seed)
    db.initialize(make_database(url))
    starters = starter_templates()
    with db.connection_context():
        migrations.upgrade()
        if Practice.select().exists():
            raise SystemExit(f"{url} is not empty: the benchmark seeds a fresh database")
        password_hash = hash_password(PASSWORD)  # one hash (scrypt) shared by every clinician
        with db.atomic():
            Practice.insert(id=1, name="Riverside Counseling").execute()
            users = [{"id": i, "practice": 1, "email": f"clinician{i}@bench.example",
                      "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "role": "clinician",
                      "password_hash": password_hash} for i in range(1, CLINICIANS + 1)]
            _bulk(User, users)
            clients, team = [], []
            for cid in range(1, CLIENTS + 1):
                primary = (cid - 1) % CLINICIANS + 1  # 50 each
                clients.append({"id": cid, "practice": 1, "first_name": rng.choice(FIRST),
                                "last_name": rng.choice(LAST),
                                "date_of_birth": dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 16000)),
                                "email": f"client{cid}@mail.example",
                                "presenting_problem": rng.choice(starters)[2].meta.get("problem", ""),
                                "primary_clinician": primary, "status": "active"})
                if cid % 6 == 0:  # a colleague on the care team of one client in six
                    team.append({"client": cid, "user": primary % CLINICIANS + 1})
            _bulk(Client, clients)
            _bulk(CareTeamMember, team)
            _library(rng, 1, [u["id"] for u in users], starters)
            # Client 1 belongs to clinician 1 (the one the benchmark signs in as): the 20-goal
            # plan; client 13 (also clinician 1) has exactly 5 goals.
            plan_goals, suggestions = _plans(rng, starters, clients, 1, 13)
            _sessions(rng, clients, plan_goals, suggestions)
            _reset_sequences([Practice, User, Client, Template, TemplateVersion, Plan, Goal,
                              Objective, Intervention, HomeworkSuggestion, SessionNote])
        if not is_sqlite():
            # What autovacuum does soon after a bulk load: statistics for the planner, and the
            # dead rows left by index_template's UPDATEs gone. Without it PostgreSQL picks
            # plans from empty statistics (library search 80 ms instead of 8 ms).
            db.execute_sql("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    print(f"seeded {url} in {seconds:.1f} s", flush=True)
    return {"password": PASSWORD, "seconds": round(seconds, 1), "big_plan": 1, "five_plan": 13,
            "clinicians": {u["id"]: u["email"] for u in users}}


if __name__ == "__main__":
    seed(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///bench/out/seed.db")
