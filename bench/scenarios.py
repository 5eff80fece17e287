"""The load scenarios as request lists for bench/scenario.lua, built from the seeded database.

Reads and writes are spread over the caseloads of the signed-in clinicians (about 50 clients,
300 goals each); goal saves go round-robin over all their goals (more than 1,000), each goal in
one wrk thread only, starting from the version the database holds now.
"""
import random

from core.access import clients_visible_to
from core.db import db
from core.models import Goal, Plan, Template, User
from bench.measure import goal_form_body

SCENARIOS = ["dashboard", "client", "plan_20_goals", "goal_edit_fragment", "goal_save",
             "library_search", "template_page", "session_note_new", "mixed"]
READS = ["dashboard", "client", "plan_20_goals", "goal_edit_fragment", "library_search",
         "template_page", "session_note_new"]
# What a clinician types into the library search, one keystroke at a time.
TYPED = ["anxiety", "sleep", "panic", "grief", "anger", "trauma", "depression", "alcohol",
         "burnout", "social anxiety", "self-harm", "exposure", "cbt", "insomnia", "worry",
         "relapse", "adolescents", "behavioral activation", "time-out", "nightmares"]


def search_prefixes() -> list[str]:
    out = []
    for text in TYPED:
        out += [text[:n] for n in range(2, len(text) + 1) if text[n - 1] not in " -"]
    return out


class Caseloads:
    """What each signed-in clinician (session key "1", "2", ...) may open."""

    def __init__(self, user_ids, big_plan: int, five_plan: int):
        self.big_plan, self.five_plan = big_plan, five_plan
        self.clients, self.plans, self.goals = {}, {}, {}
        with db.connection_context():
            for key, user_id in enumerate(user_ids, 1):
                user = User.get_by_id(user_id)
                client_ids = [c.id for c in clients_visible_to(user)]
                plans = list(Plan.select(Plan.id).where(Plan.client.in_(client_ids)).tuples())
                goals = list(Goal.select().join(Plan).where(
                    Plan.client.in_(client_ids) & Goal.deleted_at.is_null()).order_by(Goal.id))
                self.clients[str(key)] = client_ids
                self.plans[str(key)] = [p for (p,) in plans]
                self.goals[str(key)] = goals
            self.templates = [t for (t,) in Template.select(Template.id).where(
                (Template.visibility == "public") & Template.deleted_at.is_null())
                .order_by(Template.id).limit(1000).tuples()]

    def first_goal(self) -> Goal:
        return self.goals["1"][0]

    def reads(self, name: str) -> list[tuple]:
        """("G", session, hx, path) lines of a read scenario."""
        out = []
        for key in self.clients:
            if name == "dashboard":
                out.append(("G", key, "0", "/"))
            elif name == "client":
                out += [("G", key, "0", f"/clients/{c}") for c in self.clients[key]]
            elif name == "plan_20_goals" and key == "1":
                out.append(("G", key, "0", f"/plans/{self.big_plan}"))
            elif name == "plans":
                out += [("G", key, "0", f"/plans/{p}") for p in self.plans[key]]
            elif name == "goal_edit_fragment":
                out += [("G", key, "1", f"/goals/{g.id}/edit") for g in self.goals[key]]
            elif name == "library_search":
                out += [("G", key, "1", f"/library?q={q.replace(' ', '+')}")
                        for q in search_prefixes()]
            elif name == "template_page":
                out += [("G", key, "0", f"/library/{t}") for t in self.templates]
            elif name == "session_note_new":
                out += [("G", key, "0", f"/clients/{c}/notes/new") for c in self.clients[key]]
        return out

    def saves(self, versions: dict, thread: int, threads: int) -> list[tuple]:
        """("P", ...) lines for this thread's share of every goal. A goal of a client on two
        signed-in clinicians' caseloads (care teams) is saved by the first one only: two local
        version counters for one goal would make real 409 conflicts."""
        out, seen = [], set()
        for key, goals in self.goals.items():
            mine = [g for g in goals if g.id not in seen]
            seen.update(g.id for g in goals)
            for goal in mine[thread::threads]:
                out.append(("P", key, str(goal.id), str(versions[goal.id]), f"/goals/{goal.id}",
                            goal_form_body(goal)))
        return out

    def all_goal_ids(self) -> list[int]:
        return [g.id for goals in self.goals.values() for g in goals]


def current_versions(goal_ids) -> dict:
    with db.connection_context():
        return dict(Goal.select(Goal.id, Goal.version).where(Goal.id.in_(goal_ids)).tuples())


def thread_lines(caseloads: Caseloads, name: str, available: list[str], threads: int,
                 seed: int = 7) -> list[list[tuple]]:
    """Per wrk thread, the request lines of scenario `name`."""
    rng = random.Random(seed)
    per_thread = [[] for _ in range(threads)]
    if name == "goal_save" or name == "mixed":
        versions = current_versions(caseloads.all_goal_ids())
    for t in range(threads):
        if name == "goal_save":
            lines = caseloads.saves(versions, t, threads)
            rng.shuffle(lines)
        elif name == "mixed":
            # 90% reads across many clients and plans, 10% goal saves.
            saves = caseloads.saves(versions, t, threads)
            kinds = [k if k != "plan_20_goals" else "plans" for k in available]
            pools = [caseloads.reads(k)[t::threads] or caseloads.reads(k) for k in kinds]
            reads = [rng.choice(rng.choice(pools)) for _ in range(len(saves) * 9)]
            lines = reads + saves
            rng.shuffle(lines)
        else:
            lines = caseloads.reads(name)
            rng.shuffle(lines)
            lines = lines[t::threads] or lines
        per_thread[t] = lines
    return per_thread
