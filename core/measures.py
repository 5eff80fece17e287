"""Instrument scores: ranges, severity bands, recording a score, and checking goal targets.

A goal whose measure names an instrument and whose target reads like "GAD-7 below 10" is
checked whenever a score for that instrument comes in; the first score that meets the target
sets Goal.target_met_on.
"""
import datetime as dt
import functools
import re
from dataclasses import dataclass

from core import audit
from core.db import db
from core.inputs import InputError, parse_date, parse_int
from core.models import Client, CustomMeasure, Goal, MeasureScore, Plan
from core.prepared import Prepared


@dataclass(frozen=True)
class Instrument:
    name: str
    min_score: int
    max_score: int
    bands: tuple = ()  # (low, high, label), covering the range
    cutoff: int | None = None  # a single screening cut-off instead of bands
    custom: bool = False

    def band(self, score: int) -> str:
        for low, high, label in self.bands:
            if low <= score <= high:
                return label
        if self.cutoff is not None:
            return (f"at or above the usual cut-off {self.cutoff}" if score >= self.cutoff
                    else f"below the usual cut-off {self.cutoff}")
        return ""


INSTRUMENTS = {i.name: i for i in (
    Instrument("PHQ-9", 0, 27, ((0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"),
                                (15, 19, "moderately severe"), (20, 27, "severe"))),
    Instrument("GAD-7", 0, 21, ((0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"),
                                (15, 21, "severe"))),
    Instrument("AUDIT", 0, 40, ((0, 7, "low risk"), (8, 15, "hazardous"), (16, 19, "harmful"),
                                (20, 40, "possible dependence"))),
    # A PCL-5 total of 31-33 or more suggests probable PTSD; 33 is the usual cut-off.
    Instrument("PCL-5", 0, 80, cutoff=33),
    Instrument("ISI", 0, 28, ((0, 7, "no clinically significant insomnia"),
                              (8, 14, "subthreshold insomnia"), (15, 21, "moderate insomnia"),
                              (22, 28, "severe insomnia"))),
    Instrument("PSS-10", 0, 40, ((0, 13, "low stress"), (14, 26, "moderate stress"),
                                 (27, 40, "high perceived stress"))),
    # Measures named by the starter library: range checks, and the usual screening cut-off.
    Instrument("DAR-5", 5, 25, cutoff=12),
    Instrument("PDSS", 0, 28, cutoff=8),
    Instrument("SPIN", 0, 68, cutoff=19),
    Instrument("ICG", 0, 76),
)}


class ScoreError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (name or "").lower())


_BY_SQUASHED = {_squash(name): name for name in INSTRUMENTS}


def canonical_name(name: str) -> str | None:
    """'phq9', 'PHQ 9', 'PHQ-9' -> 'PHQ-9'; None for anything that is not a standard instrument."""
    return _BY_SQUASHED.get(_squash(name))


def instruments_for(practice_id: int) -> dict[str, Instrument]:
    """The standard instruments plus the practice's custom measures (one query)."""
    found = dict(INSTRUMENTS)
    for row in CustomMeasure.select().where(CustomMeasure.practice == practice_id).order_by(
            CustomMeasure.name):
        found.setdefault(row.name, Instrument(row.name, row.min_score, row.max_score, custom=True))
    return found


def find_instrument(name: str, instruments: dict[str, Instrument]) -> Instrument | None:
    name = (name or "").strip()
    if name in instruments:
        return instruments[name]
    squashed = _squash(name)
    for key, instrument in instruments.items():
        if _squash(key) == squashed and squashed:
            return instrument
    return None


def band_label(instrument: str, score: int, instruments: dict | None = None) -> str:
    found = find_instrument(instrument, instruments or INSTRUMENTS)
    return found.band(score) if found else ""


# --- targets ------------------------------------------------------------------------------------

_NUMBER = r"(?<![0-9])(-?[0-9]{1,6})(?![0-9])"  # ASCII, and short enough for int()
_OPS = [  # longest phrases first
    (r"at\s+or\s+below|at\s+most|no\s+more\s+than|<=|≤|=<", "<="),
    (r"below|under|less\s+than|lower\s+than|fewer\s+than|<", "<"),
    (r"at\s+or\s+above|at\s+least|no\s+less\s+than|>=|≥|=>", ">="),
    (r"above|over|more\s+than|greater\s+than|higher\s+than|>", ">"),
]
_POSTFIX = [(r"or\s+(?:less|below|lower|fewer)", "<="), (r"or\s+(?:more|above|higher)", ">=")]
_NOISE = re.compile(r"\b(?:score[sd]?|total|of|to|be|stays?|remains?|is|reduce[sd]?|drops?|"
                    r"increase[sd]?|rises?|from\s+-?\d+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    instrument: str
    op: str
    value: int

    def met_by(self, score: int) -> bool:
        return {"<": score < self.value, "<=": score <= self.value,
                ">": score > self.value, ">=": score >= self.value}[self.op]

    def points_to_go(self, score: int) -> int:
        goal = {"<": self.value - 1, "<=": self.value, ">": self.value + 1, ">=": self.value}[self.op]
        return abs(score - goal)


def _name_pattern(name: str) -> str:
    # "GAD-7" also matches "GAD7" and "gad 7"
    flexible = r"[\s-]?".join(re.escape(part) for part in re.split(r"[\s-]+", name))
    return r"(?<![A-Za-z0-9])" + flexible + r"(?![A-Za-z0-9])"


@functools.lru_cache(maxsize=1024)
def _name_regex(name: str) -> re.Pattern:
    # Built once per name: the new-note page checks every goal against every instrument.
    return re.compile(_name_pattern(name), re.IGNORECASE)


def _names_in(text: str, names) -> list[str]:
    if not text:
        return []
    return [name for name in sorted(names, key=len, reverse=True) if _name_regex(name).search(text)]


def goal_instrument(goal, names=None) -> str | None:
    """The instrument a goal is measured by: named in its measure, else in its target.
    `names`: the instrument names to look for (default: the standard instruments)."""
    names = names or INSTRUMENTS
    for text in (goal.measure, goal.target):
        found = _names_in(text or "", names)
        if found:
            return found[0]
    return None


def parse_target(goal, names=None) -> Target | None:
    """'GAD-7 below 10', 'PHQ-9 at or below 9', '< 10', 'under 10' -> Target; else None."""
    names = names or INSTRUMENTS
    instrument = goal_instrument(goal, names)
    text = (goal.target or "").strip()
    if not instrument or not text:
        return None
    named = _names_in(text, names)
    if named:
        instrument = named[0]
        text = re.sub(_name_pattern(instrument), " ", text, count=1, flags=re.IGNORECASE)
    text = _NOISE.sub(" ", text)
    for pattern, op in _POSTFIX:
        match = re.search(_NUMBER + r"\s*(?:" + pattern + r")", text, re.IGNORECASE)
        if match:
            return Target(instrument, op, int(match.group(1)))
    for pattern, op in _OPS:
        match = re.search(r"(?:" + pattern + r")\s*" + _NUMBER, text, re.IGNORECASE)
        if match:
            return Target(instrument, op, int(match.group(1)))
    return None


def _fmt(day: dt.date) -> str:
    return day.strftime("%d %b %Y")


def target_status(goal, latest_score) -> str | None:
    """The line for a goal card: "target met on <date>", "<n> points to go (latest 14 on <date>)",
    or None when the goal has no score target or no score yet.

    `latest_score` is the goal's instrument's latest MeasureScore, None, or the whole dict of
    latest_scores(client_id) (the goal's instrument is then picked from it).
    """
    if goal.target_met_on:
        return f"target met on {_fmt(goal.target_met_on)}"
    # Custom measures are known by the scores themselves: no query needed here.
    names = set(INSTRUMENTS)
    if isinstance(latest_score, dict):
        names |= set(latest_score)
    elif latest_score is not None:
        names.add(latest_score.instrument)
    target = parse_target(goal, names)
    if target is None:
        return None
    if isinstance(latest_score, dict):
        latest_score = latest_score.get(target.instrument)
    elif latest_score is not None and latest_score.instrument != target.instrument:
        return None
    if latest_score is None:
        return None
    if target.met_by(latest_score.score):
        return f"target met on {_fmt(latest_score.taken_on)}"
    n = target.points_to_go(latest_score.score)
    return (f"{n} point{'s' if n != 1 else ''} to go "
            f"(latest {latest_score.score} on {_fmt(latest_score.taken_on)})")


# --- scores -------------------------------------------------------------------------------------

def latest_scores(client_id: int) -> dict[str, MeasureScore]:
    """{instrument: its most recent MeasureScore} for one client, in one query."""
    latest = {}
    for row in _SCORES_BY_DATE.all("scores by date", client_id):
        latest[row.instrument] = row
    return latest


# Read on the plan page, the goal card after each save, the new note and the client page.
_SCORES_BY_DATE = Prepared(lambda client_id: MeasureScore.select().where(
    MeasureScore.client == client_id).order_by(MeasureScore.taken_on, MeasureScore.id))


def scores_of(client_id: int) -> list[MeasureScore]:
    return list(MeasureScore.select().where(MeasureScore.client == client_id)
                .order_by(MeasureScore.instrument, MeasureScore.taken_on, MeasureScore.id))


def clean_score(instruments: dict, data: dict) -> tuple[Instrument, int, dt.date]:
    errors = {}
    instrument = find_instrument(data.get("instrument", ""), instruments)
    if instrument is None:
        errors["instrument"] = "Choose an instrument from the list."
    raw = str(data.get("score", "")).strip()
    score = parse_int(raw, -999_999, 999_999)
    if score is None:
        errors["score"] = "Enter the total score as a whole number."
    elif instrument and not instrument.min_score <= score <= instrument.max_score:
        errors["score"] = (f"A {instrument.name} score must be between {instrument.min_score} "
                           f"and {instrument.max_score}; {score} is outside that range.")
    taken_on = dt.date.today()
    if (data.get("taken_on") or "").strip():
        try:
            taken_on = parse_date(data["taken_on"])
        except InputError as exc:
            errors["taken_on"] = str(exc)
        else:
            if taken_on > dt.date.today() + dt.timedelta(days=1):
                errors["taken_on"] = "A score cannot be dated in the future."
    if errors:
        raise ScoreError(errors)
    return instrument, score, taken_on


def record_score(user, client: Client, data: dict) -> tuple[MeasureScore, list[Goal]]:
    """Validate and store a score, then check the targets of the client's active goals.
    Returns the score and the goals whose target it met for the first time."""
    instruments = instruments_for(client.practice_id)
    instrument, score, taken_on = clean_score(instruments, data)
    with db.atomic():
        row = MeasureScore.create(client=client.id, instrument=instrument.name, score=score,
                                  taken_on=taken_on, recorded_by=user)
        met = check_targets(client.id, row, instruments)
        audit.record("score.create", user, target_type="client", target_id=client.id,
                     detail=f"score {row.id} {instrument.name}")
    return row, met


def check_targets(client_id: int, score: MeasureScore, names=None) -> list[Goal]:
    """Set target_met_on on the client's goals (active plans) that this score meets first."""
    goals = (Goal.select().join(Plan)
             .where((Plan.client == client_id) & (Plan.status == "active")
                    & Plan.deleted_at.is_null() & Goal.deleted_at.is_null()
                    & Goal.target_met_on.is_null()))
    met = []
    for goal in goals:
        target = parse_target(goal, names)
        if target and target.instrument == score.instrument and target.met_by(score.score):
            Goal.update(target_met_on=score.taken_on).where(
                (Goal.id == goal.id) & Goal.target_met_on.is_null()).execute()
            goal.target_met_on = score.taken_on
            met.append(goal)
    return met


# --- custom measures ----------------------------------------------------------------------------

def custom_measures(practice_id: int):
    return CustomMeasure.select().where(CustomMeasure.practice == practice_id).order_by(
        CustomMeasure.name)


def add_custom_measure(user, data: dict) -> CustomMeasure:
    errors = {}
    name = (data.get("name") or "").strip()
    if not name or len(name) > 60:
        errors["name"] = "Name the measure (at most 60 characters)."
    elif canonical_name(name) or CustomMeasure.select().where(
            (CustomMeasure.practice == user.practice_id) & (CustomMeasure.name == name)).exists():
        errors["name"] = "A measure with this name exists already."
    bounds = {}
    for key in ("min_score", "max_score"):
        raw = str(data.get(key, "")).strip()
        number = parse_int(raw, -999_999, 999_999)
        if number is None:
            errors[key] = "A whole number."
        else:
            bounds[key] = number
    if len(bounds) == 2 and bounds["min_score"] >= bounds["max_score"]:
        errors["max_score"] = "The highest score must be above the lowest."
    if errors:
        raise ScoreError(errors)
    with db.atomic():
        row = CustomMeasure.create(practice=user.practice_id, name=name, **bounds)
        audit.record("measure.create", user, target_type="custom_measure", target_id=row.id)
    return row
