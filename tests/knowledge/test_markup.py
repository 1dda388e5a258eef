"""Articles are Markdown: what people write renders, what an attacker writes is inert."""

from html.parser import HTMLParser

import pytest

from ticketing.markup import ALLOWED_TAGS, plain_text, render_markdown


class Tags(HTMLParser):
    """Every element and attribute of a fragment, as a browser would build them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="https://sge.gob.ec" onclick="alert(1)">x</a>',
        "<iframe src='https://evil.example'></iframe>",
        '<div style="background:url(javascript:alert(1))">x</div>',
    ],
)
def test_raw_html_is_shown_as_text_never_as_markup(source):
    html = str(render_markdown(f"Antes {source} después"))
    tags = Tags(html).found
    assert [tag for tag, _attrs in tags] == ["p"], html
    assert "&lt;" in html  # kept as the text it was typed as


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
    ],
)
def test_dangerous_link_schemes_become_no_link(target):
    html = str(render_markdown(f"[pulse aquí]({target}) y <{target}>"))
    assert all("href" not in attrs for _tag, attrs in Tags(html).found), html


def test_an_html_entity_or_a_tag_around_it_cannot_smuggle_a_scheme():
    html = str(
        render_markdown(
            "[x](java&#x09;script:alert(1)) [y](&#106;avascript:alert(1)) "
            "[z](<javascript:alert(1)>) **<a href='javascript:alert(1)'>w</a>**"
        )
    )
    for tag, attrs in Tags(html).found:
        assert tag in ALLOWED_TAGS
        href = attrs.get("href", "").replace("\t", "").replace("\n", "").lower()
        assert not href.startswith(("javascript", "data", "vbscript")), html
        assert not any(name.startswith("on") for name in attrs)


def test_normal_markdown_is_kept():
    source = (
        "# Título\n\n## Sección\n\nTexto con **negrita**, *cursiva* y `código`.\n\n"
        "- uno\n- dos\n\n1. primero\n2. segundo\n\n> una cita\n\n```\nbloque <b>\n```\n\n"
        "---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "[SGE](https://www.gobiernoelectronico.gob.ec) · [artículo](/ayuda/3) · "
        "[correo](mailto:soporte@administracionpublica.gob.ec)"
    )
    html = str(render_markdown(source))
    for fragment in (
        # the page's title is the h1: an article's h1 is one level down, and drawn smaller
        '<h2 class="h5">Título</h2>',
        '<h2 class="h5">Sección</h2>',
        "<strong>negrita</strong>",
        "<em>cursiva</em>",
        "<code>código</code>",
        "<li>uno</li>",
        "<ol>",
        "<blockquote>",
        "<pre><code>bloque &lt;b&gt;",
        "<hr>",
        "<table>",
        "<td>1</td>",
        '<a href="https://www.gobiernoelectronico.gob.ec" rel="noopener noreferrer">SGE</a>',
        '<a href="/ayuda/3" rel="noopener noreferrer">artículo</a>',
        'href="mailto:soporte@administracionpublica.gob.ec"',
    ):
        assert fragment in html, fragment


def test_rendered_html_is_markup_and_empty_text_renders_nothing():
    assert render_markdown("").strip() == ""
    assert hasattr(render_markdown("x"), "__html__")  # Jinja does not escape it again


def test_plain_text_drops_the_markup_but_keeps_the_words():
    text = plain_text("# Paso a producción\n\nEnvíe **un correo** a <soporte> &amp; `espere`.")
    assert text == "Paso a producción\n\nEnvíe un correo a <soporte> & espere."
