"""Markdown to safe HTML. render_markdown is the only place user Markdown becomes HTML.

Python-Markdown passes raw HTML through and attr_list lets authors set any attribute, so its
output is only trusted after nh3 (ammonia) has applied the allow-lists below.
"""
import re
import threading
from html import escape
from urllib.parse import unquote

import markdown
import nh3

from core.template_format import LIST_KINDS, Template

ALLOWED_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li",
                "strong", "em", "b", "i", "code", "pre", "blockquote", "a", "table", "thead",
                "tbody", "tr", "th", "td", "del", "sup", "sub", "abbr", "dl", "dt", "dd"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"},
                      "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Dropped together with everything inside them, not just unwrapped.
_DROP_WITH_CONTENT = {"script", "style", "template", "iframe", "noscript", "noembed", "noframes",
                      "object", "embed", "svg", "math", "textarea", "select", "title", "xmp"}
_EXTENSIONS = ["attr_list", "def_list", "fenced_code", "tables", "sane_lists"]
_EXTENSION_CONFIGS = {"tables": {"use_align_attribute": True}}  # style="" would be stripped

# Python-Markdown is slow, sometimes quadratic, on some inputs (its issue #798): raw-HTML
# handling in the tag starts of a document, link and escape parsing in the '[' and '\\' of a
# paragraph, block parsing in the lines of a paragraph; deep nesting recurses. Text over these
# budgets is shown as escaped plain text, so one save or preview cannot hold a worker for long.
MAX_MARKDOWN_CHARS = 64 * 1024
MAX_TAG_STARTS = 500
MAX_BRACKETS_SQUARED = 100_000  # '[' and '\\' per paragraph, squared, summed
MAX_LINES_SQUARED = 250_000  # lines per paragraph, squared, summed
MAX_INDENT = 80
MAX_PIECES = 300  # Markdown pieces per template in render_template_html
_TAG_START = re.compile(r"<[A-Za-z/!?]")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_DEEP_NESTING = re.compile(r"^[ \t]*(?:>[ \t]*|[-*+][ \t]+|\d{1,9}[.)][ \t]+){20}", re.MULTILINE)


def _relative_url(url: str) -> str | None:
    """Keep a relative URL unless, decoded and without whitespace, it names a scheme."""
    compact = "".join(ch for ch in unquote(url) if ch.isprintable() and not ch.isspace())
    return None if ":" in re.split(r"[/?#]", compact, maxsplit=1)[0] else url


_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS, clean_content_tags=_DROP_WITH_CONTENT, attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow", strip_comments=True,
    url_relative=_relative_url)


def _too_costly(text: str) -> bool:
    if len(text) > MAX_MARKDOWN_CHARS or len(_TAG_START.findall(text)) > MAX_TAG_STARTS:
        return True
    blocks = _BLANK_LINE.split(text)
    return (sum((block.count("[") + block.count("\\")) ** 2 for block in blocks)
            > MAX_BRACKETS_SQUARED
            or sum((block.count("\n") + 1) ** 2 for block in blocks) > MAX_LINES_SQUARED
            or any(len(line) - len(line.lstrip()) > MAX_INDENT for line in text.split("\n"))
            or _DEEP_NESTING.search(text) is not None)


def _plain_text_html(text: str) -> str:
    return "\n".join(f"<p>{escape(block.strip())}</p>"
                     for block in _BLANK_LINE.split(text) if block.strip())


def render_markdown(text: str) -> str:
    """Render Markdown from anyone and return HTML that is safe to mark safe."""
    if not text or not text.strip():
        return ""
    if _too_costly(text):
        return _plain_text_html(text)
    plain = plain_paragraphs_html(text)
    if plain is not None:
        return plain
    converter = _converter()
    try:
        html = converter.reset().convert(text)
    except (RecursionError, ValueError):  # Python-Markdown fails on some odd input
        _local.converter = None  # never reuse a converter left mid-way by a failure
        return _plain_text_html(text)
    return _cleaner.clean(html)


_local = threading.local()


def _converter() -> markdown.Markdown:
    """One converter per thread, reset before each text: building one (its extensions, patterns)
    cost more than converting a typical list, and an import renders dozens per template."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = markdown.Markdown(
            extensions=_EXTENSIONS, output_format="html", extension_configs=_EXTENSION_CONFIGS)
    return converter


# Characters and line starts that mean something to Markdown; a list item without any of them
# renders to exactly its escaped text, so it can skip the (slow) converter.
_MARKUP_CHARS = re.compile(r"[*_`\[\]!<>&\\#|~{}]|  ")
# ':' (definition lists) and '=' (setext headings) only mean something at the start of a line.
_BLOCK_START = re.compile(r"\s*(?:(?:\d+[.)]|[-+*>:])(?:\s|$)|=)")


def plain_list_html(items: list[str]) -> str | None:
    """The HTML Python-Markdown gives for a list of plain-text items, or None when any item
    holds markup (then the caller renders it through render_markdown)."""
    for item in items:
        if (not item.strip() or "\n" in item or _MARKUP_CHARS.search(_PLACEHOLDER.sub("x", item))
                or _BLOCK_START.match(item)):
            return None
    return "<ul>\n" + "\n".join(f"<li>{escape(item.strip(), quote=False)}</li>" for item in items) + "\n</ul>"


_SETEXT_OR_RULE = re.compile(r"\s*(?:-+|=+)\s*$")
# {client_first_name}-style placeholders are plain text to Python-Markdown (no ':', '#', '.').
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]{0,60}\}")


def plain_paragraphs_html(text: str) -> str | None:
    """What Python-Markdown makes of text with no markup at all (paragraphs of plain lines), or
    None when anything in it could be markup."""
    if _MARKUP_CHARS.search(_PLACEHOLDER.sub("x", text)) or "\t" in text or "\r" in text:
        return None
    blocks = []
    for block in _BLANK_LINE.split(text.strip()):
        lines = block.split("\n")
        for line in lines:
            if line != line.lstrip() or _BLOCK_START.match(line) or _SETEXT_OR_RULE.match(line):
                return None
        blocks.append("<p>" + escape("\n".join(line.rstrip() for line in lines), quote=False) + "</p>")
    return "\n".join(blocks)


def render_template_html(t: Template) -> str:
    """The whole template as display HTML; every piece of user text is rendered or escaped.

    Goal titles, field names, field values and headings are escaped text; the problem, list items,
    extra subsections and sections are Markdown. Each list is rendered as one Markdown list.
    """
    out, allowance = [], iter(range(MAX_PIECES))

    def render(text: str) -> str:
        if next(allowance, None) is None:
            return _plain_text_html(text)
        return render_markdown(text)

    if t.problem:
        out += ['<section class="template-problem">', "<h2>Problem</h2>",
                render(t.problem), "</section>"]
    for goal in t.goals:
        out += ['<section class="template-goal">', f"<h3>{escape(goal.title)}</h3>"]
        if goal.fields:
            out += ["<dl>"] + [f"<dt>{escape(key)}</dt><dd>{escape(value)}</dd>"
                               for key, value in goal.fields.items()] + ["</dl>"]
        for kind in LIST_KINDS:
            if getattr(goal, kind):
                items = getattr(goal, kind)
                html = plain_list_html(items)
                if html is None:
                    html = render("\n".join(f"- {item}" for item in items))
                out += [f"<h4>{kind.capitalize()}</h4>", html]
        for heading, text in goal.extra:
            out += [f"<h4>{escape(heading)}</h4>", render(text)]
        out.append("</section>")
    for section in t.sections:
        out += ['<section class="template-section">', f"<h2>{escape(section.title)}</h2>",
                render(section.body), "</section>"]
    return "\n".join(out)
