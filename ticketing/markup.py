"""Markdown of articles, comments and long field values, rendered to HTML safe to show as it is.

markdown-it-py parses CommonMark (plus tables) with raw HTML off, so `<script>` typed in
an article stays text; nh3 then keeps only the tags and link schemes listed here, whatever
the parser let through. Headings start at h2: the page's own title is the h1.

Comments and textarea values (`render_comment`) are what anyone may type, read by
people who did not write them: a line break is a line break (as people type in a help
desk, not as CommonMark joins lines), and links are also `nofollow`. `compact_html`
drops the line breaks between blocks, for a mail client that keeps them visible.
"""

import html
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h2",
    "h3",
    "h4",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}  # relative links pass as they are
LINK_REL = "noopener noreferrer"
COMMENT_LINK_REL = "noopener noreferrer nofollow"  # typed by anyone: no ranking, no opener
# an article's h1 would compete with the page's title; below h4 is too small to matter
HEADING_TAGS = {"h1": "h2", "h5": "h4", "h6": "h4"}
# and each level is drawn a size below the page's own title (Bootstrap's .h5/.h6)
HEADING_SIZES = {"h2": "h5", "h3": "h6", "h4": "h6"}


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


_md = _parser()
_comment_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    "table"
)
_BETWEEN_TAGS = re.compile(r">\n+<")
_AFTER_BREAK = re.compile(r"<br>\n")


def _tokens(text: str, parser: MarkdownIt = _md):
    tokens = parser.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = HEADING_TAGS.get(token.tag, token.tag)
        if token.type == "heading_open":
            token.attrSet("class", HEADING_SIZES[token.tag])
    return tokens


def _clean(rendered: str, link_rel: str) -> str:
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        tag_attribute_values={tag: {"class": {size}} for tag, size in HEADING_SIZES.items()},
        url_schemes=URL_SCHEMES,
        link_rel=link_rel,
        strip_comments=True,
    )


def render_markdown(text: str) -> Markup:
    """`text` (Markdown) as sanitised HTML, ready to put in a page."""
    rendered = _md.renderer.render(_tokens(text), _md.options, {})
    return Markup(_clean(rendered, LINK_REL))


def render_comment(text: str) -> Markup:
    """A comment or a long field value (Markdown, line breaks kept) as sanitised HTML."""
    tokens = _tokens(text, _comment_md)
    rendered = _comment_md.renderer.render(tokens, _comment_md.options, {})
    return Markup(_clean(rendered, COMMENT_LINK_REL))


def compact_html(markup: Markup) -> Markup:
    """Sanitised HTML without the line breaks between its tags and after a `<br>`."""
    # in the sanitised output a `>` followed by a line break and a `<` is always two tags:
    # a `<` or `>` people typed is escaped as an entity
    html_text = _AFTER_BREAK.sub("<br>", str(markup))
    return Markup(_BETWEEN_TAGS.sub("><", html_text).strip())


def plain_text(text: str) -> str:
    """The words of `text` (Markdown) without its markup, one block per paragraph."""
    blocks: list[str] = []
    for token in _tokens(text):
        if token.type == "inline":
            parts = []
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append("\n")
            blocks.append("".join(parts))
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
    return html.unescape("\n\n".join(b for b in blocks if b.strip()))
