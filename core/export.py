"""A plan written back in the template format: for export, print, and saving to the library."""
import re

from core.template_format import Goal as FormatGoal
from core.template_format import Section, Template, write_template

FIELD_ORDER = (("measure", "Measure"), ("baseline", "Baseline"), ("target", "Target"),
               ("timeframe", "Timeframe"), ("description", "Description"))


def _scrub(text: str, client) -> str:
    """Replace the client's names with the placeholder so no identifying detail leaves the plan."""
    for name, placeholder in ((client.first_name, "{client_first_name}"),
                              (client.last_name, "{client_first_name}")):
        if name and len(name) > 1:
            text = re.sub(r"\b%s\b" % re.escape(name), placeholder, text, flags=re.I)
    return text


def plan_to_template(page, anonymise: bool) -> Template:
    plan, client = page.plan, page.plan.client
    clean = (lambda text: _scrub(text or "", client)) if anonymise else (lambda text: text or "")
    meta = {"title": clean(plan.title) or "Action plan"}
    if page.source and page.source.template.problem:
        meta["problem"] = page.source.template.problem
    elif client.presenting_problem:
        meta["problem"] = client.presenting_problem
    goals = []
    for goal in page.goals:
        fields = {}
        for attr, key in FIELD_ORDER:
            value = getattr(goal, attr)
            if attr == "baseline" and anonymise:
                value = "to be measured at intake"  # the client's own baseline stays in the plan
            if value:
                fields[key] = clean(value).replace("\n", " ")
        if not anonymise and goal.target_date:
            fields["Target date"] = goal.target_date.isoformat()
        for key, value in (goal.extra_fields or {}).items():
            fields.setdefault(key, clean(str(value)))
        goals.append(FormatGoal(
            title=clean(goal.title),
            fields=fields,
            objectives=[clean(o.text).replace("\n", " ") for o in goal.parts["objectives"]],
            interventions=[clean(i.text).replace("\n", " ") for i in goal.parts["interventions"]],
            homework=[clean(h.text).replace("\n", " ") for h in goal.parts["suggestions"]]))
    sections = [Section(title=s["title"], body=clean(s["body"])) for s in (plan.sections or [])]
    return Template(meta=meta, problem=clean(plan.problem), goals=goals, sections=sections)


def plan_markdown(page, anonymise: bool) -> str:
    return write_template(plan_to_template(page, anonymise))
