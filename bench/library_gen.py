"""Realistic template variations: the starter library's goals recombined under new titles,
problems, populations and tags. Deterministic for a given random.Random."""
import copy
import pathlib
import random

import yaml

from core.rendering import render_template_html
from core.template_format import Template, parse_template, write_template

STARTER_FOLDER = pathlib.Path(__file__).resolve().parent.parent / "template_library"
POPULATIONS = ["adults", "adolescents", "older adults", "college students", "new parents",
               "veterans", "health-care workers", "couples", "men", "women", "first responders",
               "people with chronic pain", "shift workers", "refugees", "caregivers"]
FORMATS = ["individual", "group", "telehealth", "brief", "intensive", "stepped-care",
           "school-based", "primary-care"]
APPROACHES = ["cognitive-behavioral", "ACT-informed", "DBT-informed", "solution-focused",
              "motivational", "mindfulness-based", "behavioral", "integrative", "psychodynamic"]
EXTRA_TAGS = ["psychoeducation", "relapse prevention", "self-monitoring", "sleep", "exercise",
              "values", "mindfulness", "family", "work", "school", "group", "telehealth",
              "brief therapy", "measurement-based care", "crisis plan", "social support",
              "problem solving", "exposure", "activity scheduling", "journaling"]
WEEKS = [6, 8, 10, 12, 16, 20, 24]
AUTHORS = ["Stepwise starter library", "Dr. Ana Ruiz", "M. Okafor, LCSW", "J. Lindqvist, PsyD",
           "North Clinic team", "K. Tanaka, LMFT", "R. Haddad, LPC", "S. Novak, PhD"]


def starter_templates() -> list[tuple[str, str, Template]]:
    """(file stem, source, parsed) for every starter file, sorted by name."""
    out = []
    for path in sorted(STARTER_FOLDER.glob("*.md")):
        source = path.read_text(encoding="utf-8")
        out.append((path.stem, source, parse_template(source, path.name)))
    return out


class Variations:
    """Makes variation n of the library, and renders each distinct piece of it only once."""

    def __init__(self, starters, rng: random.Random):
        self.starters = [t for _stem, _src, t in starters]
        self.rng = rng
        self._html = {}

    def _render_piece(self, key, template: Template) -> str:
        if key not in self._html:
            self._html[key] = render_template_html(template)
        return self._html[key]

    def html(self, t: Template, pieces) -> str:
        """render_template_html(t), composed from cached renders of its problem, goals, sections.

        render_template_html joins its lines with newlines, so rendering each part alone and
        joining the parts the same way gives exactly the same text."""
        out = []
        if t.problem:
            out.append(self._render_piece(("p", t.problem), Template(t.meta, t.problem)))
        for goal, key in zip(t.goals, pieces):
            out.append(self._render_piece(("g",) + key, Template(t.meta, "", [goal])))
        for section in t.sections:
            out.append(self._render_piece(("s", section.title, section.body),
                                          Template(t.meta, "", [], [section])))
        return "\n".join(out)

    def make(self, n: int, title_suffix: str = "") -> tuple[Template, str, str, list[str]]:
        """(parsed template, source, html, tags) of variation n."""
        rng = self.rng
        base_index = n % len(self.starters)
        base = self.starters[base_index]
        weeks = rng.choice(WEEKS)
        population = rng.choice(POPULATIONS)
        fmt = rng.choice(FORMATS)
        approach = rng.choice(APPROACHES)
        topic = base.title.split(",")[0]
        title = rng.choice([
            f"{topic} for {population}, {weeks}-week {fmt} plan",
            f"{topic}: {approach} {fmt} plan for {population}",
            f"{weeks}-week {approach} plan: {topic.lower()} ({population})",
            f"{topic}, {fmt} format, {weeks} weeks",
        ]) + title_suffix
        # Goals: most from the base template, some borrowed from a related one.
        goal_keys = [(base_index, i) for i in range(len(base.goals))]
        rng.shuffle(goal_keys)
        goal_keys = goal_keys[:rng.randint(2, len(base.goals))]
        for _ in range(rng.randint(0, 2)):
            other = rng.randrange(len(self.starters))
            goal_keys.append((other, rng.randrange(len(self.starters[other].goals))))
        goals, pieces = [], []
        for t_index, g_index in goal_keys:
            goal = copy.deepcopy(self.starters[t_index].goals[g_index])
            if "Timeframe" in goal.fields:
                goal.fields["Timeframe"] = f"{min(weeks, rng.choice(WEEKS))} weeks"
            goals.append(goal)
            pieces.append((t_index, g_index, goal.fields.get("Timeframe", "")))
        tags = list(base.meta.get("tags", []))
        rng.shuffle(tags)
        tags = tags[:rng.randint(2, len(tags))] + rng.sample(EXTRA_TAGS, rng.randint(1, 3))
        if fmt in ("group", "telehealth") and fmt not in tags:
            tags.append(fmt)
        problem = base.problem
        if rng.random() < 0.5:
            problem += f"\n\nThis version is adapted for {population}."
        meta = {"title": title, "problem": base.meta.get("problem", ""), "tags": tags,
                "measures": list(base.meta.get("measures", [])),
                "summary": base.meta.get("summary", "") + f" Adapted as a {weeks}-week "
                           f"{approach} {fmt} plan for {population}.",
                "license": "CC-BY-4.0", "author": rng.choice(AUTHORS)}
        template = Template(meta=meta, problem=problem, goals=goals, sections=base.sections)
        return template, self.source(template), self.html(template, pieces), tags

    @staticmethod
    def source(t: Template) -> str:
        """write_template(t), with the front matter dumped by libyaml (PyYAML's pure-Python
        emitter would take most of the seeding time); the body is write_template's own."""
        body = write_template(Template({}, t.problem, t.goals, t.sections))
        body = body.split("\n---\n", 1)[1]
        front = yaml.dump(t.meta, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                          allow_unicode=True, sort_keys=False, default_flow_style=None)
        return "---\n" + front + "---\n" + body
