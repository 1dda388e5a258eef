"""Comments and long field values are safe Markdown on the ticket page.

What people write renders (bold, lists, links, line breaks as typed); what an attacker
writes stays inert: no script, no event handler, no javascript: link, whatever the markup
of the comment (public or internal) or of the support type's "descripcion".
"""

import re
from html.parser import HTMLParser

import pytest

from tests.conftest import make_ticket, user
from ticketing import services

HOSTILE = (
    "<script>alert(1)</script> "
    '<img src=x onerror="alert(2)"> '
    "[pulse](javascript:alert(3)) [dato](JaVaScRiPt:alert(4)) "
    '<a href="javascript:alert(5)" onclick="alert(6)">x</a> '
    "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==)"
)
WRITTEN = (
    "Revisé la **bandeja de salida**:\n"
    "el oficio quedó en *borradores*.\n\n"
    "- firmar\n- enviar\n\n"
    "Vea [la guía](https://www.gobiernoelectronico.gob.ec/quipux)."
)


class Elements(HTMLParser):
    """The elements of one region of a page (by data-testid), as a browser builds them."""

    def __init__(self, html: str, testid: str):
        super().__init__(convert_charrefs=True)
        self.testid, self.depth, self.found, self.text = testid, 0, [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            self.found.append((tag, attrs))
            if tag not in ("br", "img", "hr", "input"):
                self.depth += 1
        elif attrs.get("data-testid") == self.testid:
            self.depth = 1
            self.found.append(("region", {}))

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


def _regions(html: str, testid: str) -> list[tuple[str, dict]]:
    return Elements(html, testid).found


def _assert_inert(found):
    for tag, attrs in found:
        assert tag not in ("script", "img", "iframe", "object"), (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "javascript" not in (attrs.get("href") or "").lower(), attrs
        assert not (attrs.get("href") or "").startswith("data:"), attrs


@pytest.mark.parametrize("internal", [False, True])
def test_a_comment_renders_its_markdown_and_nothing_it_could_run(app, client, auth, internal):
    ticket = make_ticket()
    services.add_comment(user("focal"), ticket.id, WRITTEN + "\n\n" + HOSTILE, internal=internal)
    auth.login("focal")
    html = client.get(f"/ticket/{ticket.id}/").get_data(as_text=True)
    found = _regions(html, "comment-body")
    tags = [tag for tag, _attrs in found]
    assert {"strong", "em", "ul", "li", "br", "a"} <= set(tags), tags
    links = [attrs for tag, attrs in found if tag == "a" and "href" in attrs]
    assert links == [
        {
            "href": "https://www.gobiernoelectronico.gob.ec/quipux",
            "rel": "noopener noreferrer nofollow",
        }
    ]
    _assert_inert(found)
    # what was typed as markup is shown as the text it was typed as
    text = "".join(Elements(html, "comment-body").text)
    assert "<script>alert(1)</script>" in text and 'onerror="alert(2)"' in text


def test_the_requester_sees_the_public_comment_rendered_too(app, client, auth):
    ticket = make_ticket()
    services.add_comment(user("focal"), ticket.id, "Paso **uno**\nPaso dos")
    auth.login("interno")
    html = client.get(f"/ticket/{ticket.id}/").get_data(as_text=True)
    assert re.search(r"Paso <strong>uno</strong><br>\s*Paso dos", html)


def test_the_description_field_is_safe_markdown(app, client, auth):
    ticket = make_ticket(
        fields={"descripcion": "Pasos:\n\n1. abrir el oficio\n2. **firmar**\n\n" + HOSTILE}
    )
    auth.login("interno")
    html = client.get(f"/ticket/{ticket.id}/").get_data(as_text=True)
    found = _regions(html, "field-descripcion")
    tags = [tag for tag, _attrs in found]
    assert {"ol", "li", "strong"} <= set(tags), tags
    _assert_inert(found)
    # a short field is shown as typed, escaped, never as Markdown
    short = make_ticket(title="**no es negrita** <b>x</b>")
    page = client.get(f"/ticket/{short.id}/").get_data(as_text=True)
    assert "**no es negrita** &lt;b&gt;x&lt;/b&gt;" in page


def test_the_comment_box_says_it_takes_markdown_and_pasted_images(app, client, auth):
    ticket = make_ticket()
    auth.login("interno")
    html = client.get(f"/ticket/{ticket.id}/").get_data(as_text=True)
    box = re.search(r"<textarea[^>]*id=\"comment-body\"[^>]*>", html).group(0)
    assert 'aria-describedby="comment-hint"' in box
    assert 'data-paste-images="comment-file"' in box
    assert 'data-pasted="Imagen pegada: se adjuntará al comentario"' in box
    assert re.search(r'id="comment-hint"[^>]*>[^<]*Admite Markdown', html)
    assert re.search(r'<p[^>]*id="paste-status"[^>]*aria-live="polite"', html)
    assert re.search(r'<input type="file"[^>]*id="comment-file"[^>]*multiple', html)
    assert '/ui-static/paste_image.js"></script>' in html  # a file: no inline script
    assert "<script>" not in html.replace('<script src="', "")
