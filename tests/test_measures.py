"""Scores: ranges and bands, automatic target checks, charts and tables, custom measures."""
import datetime as dt
import re
from types import SimpleNamespace

import pytest

from core import measures
from core.models import AuditEvent, CustomMeasure, Goal, MeasureScore
from tests.conftest import count_queries, in_db
from tests.test_notes import make_plan


def goal(measure="", target="", met=None):
    return SimpleNamespace(measure=measure, target=target, target_met_on=met)


def score(instrument, value, day):
    return SimpleNamespace(instrument=instrument, score=value, taken_on=day)


@pytest.mark.parametrize("measure,target,expected", [
    ("GAD-7", "GAD-7 below 10", ("GAD-7", "<", 10)),
    ("PHQ-9", "PHQ-9 at or below 9", ("PHQ-9", "<=", 9)),
    ("PHQ9", "under 5", ("PHQ-9", "<", 5)),
    ("GAD-7", "< 10", ("GAD-7", "<", 10)),
    ("GAD-7", "<=9", ("GAD-7", "<=", 9)),
    ("", "PHQ-9 less than 10", ("PHQ-9", "<", 10)),
    ("AUDIT", "AUDIT score of 7 or less", ("AUDIT", "<=", 7)),
    ("PCL-5", "reduce from 50 to below 33", ("PCL-5", "<", 33)),
    ("ISI", "ISI below 8", ("ISI", "<", 8)),
    ("sleep diary", "sleep efficiency at or above 85%", None),
    ("GAD-7", "feel calmer", None),
])
def test_parse_target(measure, target, expected):
    parsed = measures.parse_target(goal(measure, target))
    assert (parsed and (parsed.instrument, parsed.op, parsed.value)) == expected or (
        parsed is None and expected is None)


def test_target_status_lines():
    day = dt.date(2025, 3, 4)
    g = goal("GAD-7", "GAD-7 below 10")
    assert measures.target_status(g, None) is None
    assert measures.target_status(g, score("GAD-7", 14, day)) == "5 points to go (latest 14 on 04 Mar 2025)"
    assert measures.target_status(g, score("GAD-7", 10, day)) == "1 point to go (latest 10 on 04 Mar 2025)"
    assert measures.target_status(g, {"GAD-7": score("GAD-7", 9, day)}) == "target met on 04 Mar 2025"
    assert measures.target_status(g, {"PHQ-9": score("PHQ-9", 9, day)}) is None
    assert measures.target_status(goal("PHQ-9", "PHQ-9 at or below 9"), score("PHQ-9", 14, day)).startswith(
        "5 points to go")
    met = goal("GAD-7", "GAD-7 below 10", met=dt.date(2025, 1, 2))
    assert measures.target_status(met, score("GAD-7", 15, day)) == "target met on 02 Jan 2025"
    assert measures.target_status(goal("walks per week", "at least 3"), score("GAD-7", 3, day)) is None
    custom = goal("WEMWBS", "WEMWBS at least 50")
    assert measures.target_status(custom, score("WEMWBS", 44, day)).startswith("6 points to go")


@pytest.mark.parametrize("instrument,value,band", [
    ("PHQ-9", 4, "minimal"), ("PHQ-9", 5, "mild"), ("PHQ-9", 14, "moderate"),
    ("PHQ-9", 15, "moderately severe"), ("PHQ-9", 27, "severe"), ("GAD-7", 15, "severe"),
    ("GAD-7", 9, "mild"), ("AUDIT", 7, "low risk"), ("AUDIT", 8, "hazardous"),
    ("AUDIT", 19, "harmful"), ("AUDIT", 20, "possible dependence"),
    ("ISI", 7, "no clinically significant insomnia"), ("ISI", 22, "severe insomnia"),
    ("PCL-5", 32, "below the usual cut-off 33"), ("PCL-5", 33, "at or above the usual cut-off 33"),
])
def test_severity_bands(instrument, value, band):
    assert measures.band_label(instrument, value) == band


@pytest.mark.parametrize("instrument,bad,low,high", [
    ("PHQ-9", "28", 0, 27), ("GAD-7", "22", 0, 21), ("AUDIT", "41", 0, 40),
    ("PCL-5", "81", 0, 80), ("ISI", "-1", 0, 28), ("PSS-10", "41", 0, 40)])
def test_score_out_of_range_is_refused_naming_the_range(world, as_user, instrument, bad, low, high):
    c = as_user(world.clin_a1)
    response = c.submit(f"/clients/{world.client_a1.id}/progress",
                        {"instrument": instrument, "score": bad, "taken_on": "2025-01-10"})
    assert response.status_code == 422
    assert f"between {low} and {high}" in response.get_data(as_text=True)
    with in_db():
        assert MeasureScore.select().count() == 0


def test_unknown_instrument_and_bad_input_are_refused(world, as_user):
    c = as_user(world.clin_a1)
    url = f"/clients/{world.client_a1.id}/scores"
    # Forged: the page offers no such instrument, and its number field sends no words.
    assert c.forge(url, {"instrument": "XYZ-1", "score": "3"}).status_code == 422
    assert c.forge(url, {"instrument": "GAD-7", "score": "many"}).status_code == 422
    page = f"/clients/{world.client_a1.id}/progress"
    assert c.submit(page, {"instrument": "GAD-7", "score": "3", "taken_on": "2999-01-01"}).status_code == 422
    with in_db():
        assert MeasureScore.select().count() == 0


def test_score_meeting_a_goal_target_marks_it_met_once(world, as_user):
    client = world.client_a1
    _plan, (worry,) = make_plan(client, ("Reduce worry",), measure="GAD-7", target="GAD-7 below 10")
    _p2, (mood,) = make_plan(client, ("Lift mood",), measure="PHQ-9", target="PHQ-9 at or below 9")
    c = as_user(world.clin_a1)
    url = f"/clients/{client.id}/progress"
    for value, day in (("15", "2025-01-06"), ("12", "2025-02-03")):
        assert c.submit(url, {"instrument": "GAD-7", "score": value, "taken_on": day}).status_code == 303
    with in_db():
        assert Goal.get_by_id(worry.id).target_met_on is None
        latest = measures.latest_scores(client.id)
        assert measures.target_status(Goal.get_by_id(worry.id), latest) == \
            "3 points to go (latest 12 on 03 Feb 2025)"
    met = c.submit(url, {"instrument": "GAD-7", "score": "8", "taken_on": "2025-03-03"},
                 follow_redirects=True)
    assert "Target met: Reduce worry" in met.get_data(as_text=True)
    c.submit(url, {"instrument": "GAD-7", "score": "6", "taken_on": "2025-03-31"})
    c.submit(url, {"instrument": "GAD-7", "score": "13", "taken_on": "2025-04-28"})
    with in_db():
        assert Goal.get_by_id(worry.id).target_met_on == dt.date(2025, 3, 3)
        assert Goal.get_by_id(mood.id).target_met_on is None  # another instrument
        assert measures.target_status(Goal.get_by_id(worry.id), None) == "target met on 03 Mar 2025"
        assert AuditEvent.select().where(AuditEvent.action == "score.create").count() == 5


def test_latest_scores_is_one_query(world):
    with in_db():
        for i, value in enumerate((14, 11, 9)):
            MeasureScore.create(client=world.client_a1.id, instrument="GAD-7", score=value,
                                taken_on=dt.date(2025, 1, 1) + dt.timedelta(weeks=i))
        MeasureScore.create(client=world.client_a1.id, instrument="PHQ-9", score=12,
                            taken_on=dt.date(2025, 1, 1))
        MeasureScore.create(client=world.client_a2.id, instrument="GAD-7", score=3,
                            taken_on=dt.date(2025, 6, 1))
        with count_queries() as counter:
            latest = measures.latest_scores(world.client_a1.id)
        assert counter.count == 1
        assert {k: v.score for k, v in latest.items()} == {"GAD-7": 9, "PHQ-9": 12}


def test_progress_page_draws_scores_against_the_target_with_tables(world, as_user):
    client = world.client_a1
    _plan, (worry,) = make_plan(client, ("Reduce worry",), measure="GAD-7", target="GAD-7 below 10")
    c = as_user(world.clin_a1)
    for value, day in (("16", "2025-01-06"), ("12", "2025-02-03"), ("9", "2025-03-03")):
        c.submit(f"/clients/{client.id}/progress", {"instrument": "GAD-7", "score": value, "taken_on": day})
    c.submit(f"/clients/{client.id}/notes/new?format=free",
             {"date": "2025-03-03", "format": "free", "body": "x", f"goal-{worry.id}-rating": "7"},
             action=f"/clients/{client.id}/notes")
    response = c.get(f"/clients/{client.id}/progress")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 2  # GAD-7 scores, the goal's ratings
    gad = svgs[0]
    assert "<title id=\"score-GAD-7-title\">GAD-7 scores over time</title>" in gad and "<desc" in gad
    assert 'class="chart-target"' in gad and "Target: &lt; 10" in gad
    assert len(re.findall(r'<circle class="chart-point"', gad)) == 3 and "<polyline" in gad
    assert "style=" not in html.split("<main", 1)[1]  # the CSP forbids style attributes
    table = html.split("GAD-7 scores</caption>")[1].split("</table>")[0]
    assert [re.sub(r"<[^>]+>", "|", row).strip("|").split("||") for row in
            re.findall(r"<tr><td>.*?</tr>", table)] == [
        ["06 Jan 2025", "16", "severe"], ["03 Feb 2025", "12", "moderate"], ["03 Mar 2025", "9", "mild"]]
    assert "target met on 03 Mar 2025" in html
    assert "Ratings for Reduce worry" in html and "<td>7</td>" in html


def test_custom_measures_have_their_own_range(world, as_user):
    c = as_user(world.clin_a1)
    assert c.get("/admin/measures").status_code == 404
    admin = as_user(world.admin_a)
    assert admin.submit("/admin/measures", {"name": "WEMWBS", "min_score": "14",
                                          "max_score": "70"}).status_code == 303
    assert admin.submit("/admin/measures", {"name": "PHQ-9", "min_score": "0",
                                          "max_score": "5"}).status_code == 422
    assert admin.submit("/admin/measures", {"name": "Bad", "min_score": "9",
                                          "max_score": "3"}).status_code == 422
    url = f"/clients/{world.client_a1.id}/progress"
    low = c.submit(url, {"instrument": "WEMWBS", "score": "10"})
    assert low.status_code == 422 and "between 14 and 70" in low.get_data(as_text=True)
    assert c.submit(url, {"instrument": "WEMWBS", "score": "52"}).status_code == 303
    # Another practice does not have it (forged: its page does not offer it).
    assert as_user(world.clin_b).forge(f"/clients/{world.client_b.id}/scores",
                                      {"instrument": "WEMWBS", "score": "52"}).status_code == 422
    with in_db():
        assert CustomMeasure.select().count() == 1
        assert MeasureScore.select().count() == 1


@pytest.mark.parametrize("who", ["clin_a2", "clin_b"])
def test_scores_outside_scope_are_404(world, as_user, who):
    c = as_user(getattr(world, who))
    client = world.client_a1
    attempts = [c.get(f"/clients/{client.id}/progress"),
                c.forge(f"/clients/{client.id}/scores", {"instrument": "GAD-7", "score": "5"})]  # forged
    assert [r.status_code for r in attempts] == [404, 404]
    with in_db():
        assert MeasureScore.select().count() == 0
        assert AuditEvent.select().where(AuditEvent.action == "access.denied").count() == 2
