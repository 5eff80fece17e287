"""Markdown to safe HTML. render_markdown is the only place user Markdown becomes HTML.

Python-Markdown passes raw HTML through and attr_list lets authors set any attribute, so the
output is only trusted after nh3 (ammonia) has applied the allow-lists below.
"""
from html import escape
from urllib.parse import unquote

import markdown
import nh3

from core.template_format import LIST_KINDS, Template

_EXTENSIONS = ["abbr", "attr_list", "def_list", "fenced_code", "tables", "sane_lists"]
_EXTENSION_CONFIGS = {"tables": {"use_align_attribute": True}}  # style= would be stripped
ALLOWED_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li",
                "strong", "em", "b", "i", "code", "pre", "blockquote", "a", "table", "thead",
                "tbody", "tr", "th", "td", "del", "sup", "sub", "abbr", "dl", "dt", "dd"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"},
                      "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Dropped with everything inside them, not just unwrapped.
_DROP_WITH_CONTENT = {"script", "style", "template", "iframe", "noscript", "noembed", "noframes",
                      "object", "embed", "svg", "math", "textarea", "select", "title", "xmp"}


def _relative_url(url: str) -> str | None:
    """Keep a relative URL unless, decoded and without whitespace, it names a scheme."""
    compact = "".join(ch for ch in unquote(url) if ch.isprintable() and not ch.isspace())
    before_path = compact.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return None if ":" in before_path else url


_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS, clean_content_tags=_DROP_WITH_CONTENT, attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow", strip_comments=True,
    url_relative=_relative_url)


def render_markdown(text: str) -> str:
    """Render Markdown from anyone and return HTML that is safe to mark safe."""
    html = markdown.markdown(text or "", extensions=_EXTENSIONS, output_format="html",
                             extension_configs=_EXTENSION_CONFIGS)
    return _cleaner.clean(html)


def _render_inline(text: str) -> str:
    """render_markdown without the wrapping <p> for a one-paragraph text (list items, fields)."""
    html = render_markdown(text)
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        return html[3:-4]
    return html


def render_template_html(t: Template) -> str:
    """The whole template as display HTML; every piece of user text is rendered or escaped."""
    out = []
    if t.problem:
        out += ['<section class="template-problem">', "<h2>Problem</h2>",
                render_markdown(t.problem), "</section>"]
    for goal in t.goals:
        out += ['<section class="template-goal">', f"<h3>{escape(goal.title)}</h3>"]
        if goal.fields:
            out.append("<dl>")
            for key, value in goal.fields.items():
                out.append(f"<dt>{escape(key)}</dt><dd>{_render_inline(value)}</dd>")
            out.append("</dl>")
        for kind in LIST_KINDS:
            if getattr(goal, kind):
                out += [f"<h4>{kind.capitalize()}</h4>", "<ul>"]
                out += [f"<li>{_render_inline(item)}</li>" for item in getattr(goal, kind)]
                out.append("</ul>")
        for heading, text in goal.extra:
            out += [f"<h4>{escape(heading)}</h4>", render_markdown(text)]
        out.append("</section>")
    for section in t.sections:
        out += ['<section class="template-section">', f"<h2>{escape(section.title)}</h2>",
                render_markdown(section.body), "</section>"]
    return "\n".join(out)
