"""Attachment previews: images and PDFs decided from their bytes open inline, nothing else.

The inline view (/ticket/<id>/attachment/<aid>/ver) answers only for a PNG, JPEG, GIF or
WebP image or a PDF whose bytes show that type, with Content-Disposition: inline, nosniff
and a sandboxing policy; anything else (text, SVG, a row whose stored type its bytes
contradict) is 404 there and stays a download. Who may open it is exactly who may
download it. The ticket page shows images as thumbnails and links PDFs to the inline view.
"""

import re

import pytest

from tests.conftest import make_ticket, text_of, user
from tests.test_files import HTML, PDF, PNG, SVG
from ticketing import search, services
from ticketing.fields import UploadedFile
from ticketing.models import Attachment, Blob, Ticket

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"  # noqa: E501
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"


def _comment_with(ticket, *files, internal=False):
    services.add_comment(
        user("focal"),
        ticket.id,
        "Adjunto evidencia",
        internal=internal,
        files=[UploadedFile(name, "application/octet-stream", data) for name, data in files],
    )
    return {a.filename: a for a in Attachment.select().where(Attachment.ticket == ticket.id)}


def _legacy(ticket, name, content_type, data) -> Attachment:
    """A row kept before the checks, with the type its uploader claimed."""
    import hashlib

    blob = Blob.create(sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data)
    row = Attachment.create(
        ticket=ticket.id,
        filename=name,
        content_type=content_type,
        size=len(data),
        blob=blob,
        uploaded_by=user("interno").id,
    )
    search.index_ticket(Ticket.get_by_id(ticket.id))
    return row


def _view(client, attachment):
    return client.get(f"/ticket/{attachment.ticket_id}/attachment/{attachment.id}/ver")


def _download(client, attachment):
    return client.get(f"/ticket/{attachment.ticket_id}/attachment/{attachment.id}")


@pytest.mark.parametrize(
    "name, data, decided",
    [
        ("captura.png", PNG, "image/png"),
        ("foto.jpg", JPEG, "image/jpeg"),
        ("animacion.gif", GIF, "image/gif"),
        ("imagen.webp", WEBP, "image/webp"),
        ("Informe técnico.pdf", PDF, "application/pdf"),
    ],
)
def test_images_and_pdfs_decided_from_their_bytes_open_inline(
    app, client, auth, name, data, decided
):
    ticket = make_ticket()
    kept = _comment_with(ticket, (name, data))[name]
    assert kept.content_type == decided
    auth.login("interno")
    response = _view(client, kept)
    assert response.status_code == 200
    assert response.data == data
    assert response.headers["Content-Type"] == decided
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy.split(";")[-1]
    assert "frame-ancestors 'none'" in policy
    # the download route is still a download
    download = _download(client, kept)
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Type"] == decided


def test_everything_else_is_download_only(app, client, auth):
    ticket = make_ticket()
    text = _comment_with(ticket, ("registro.txt", b"linea 1\nlinea 2\n"))["registro.txt"]
    spoofed = _legacy(ticket, "captura.png", "image/png", HTML)  # a .png name, HTML bytes
    svg = _legacy(ticket, "logo.svg", "image/svg+xml", SVG)
    pdf_named_png = _legacy(ticket, "otra.png", "image/png", PDF)  # real bytes, other type
    auth.login("interno")
    for row in (text, spoofed, svg, pdf_named_png):
        assert _view(client, row).status_code == 404, row.filename
        download = _download(client, row)
        assert download.status_code == 200
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in download.headers["Content-Security-Policy"]
    for row in (spoofed, svg, pdf_named_png):  # never sent with the type claimed
        assert _download(client, row).headers["Content-Type"] == "application/octet-stream"
    assert _download(client, text).headers["Content-Type"] == "text/plain; charset=utf-8"


def test_the_inline_view_is_open_exactly_to_who_may_download(app, client, auth):
    ticket = make_ticket()
    public = _comment_with(ticket, ("publica.png", PNG))["publica.png"]
    note = _comment_with(ticket, ("nota.png", PNG), internal=True)["nota.png"]
    for who, allowed in [
        ("interno", {public}),  # the requester: never the internal note's file
        ("focal", {public, note}),
        ("aiq", {public, note}),
        ("focal_b", set()),  # another institution: nothing, not even that it exists
        ("interno_b", set()),
    ]:
        auth.login(who)
        for row in (public, note):
            expected = 200 if row in allowed else 404
            assert _view(client, row).status_code == expected, (who, row.filename)
            assert _download(client, row).status_code == expected, (who, row.filename)
    auth.logout()
    assert _view(client, public).status_code in (302, 401, 404)
    auth.login("focal")
    other = make_ticket(user("interno"))  # a visible ticket, but not this file's
    assert client.get(f"/ticket/{other.id}/attachment/{public.id}/ver").status_code == 404
    assert client.get(f"/ticket/{ticket.id}/attachment/99999999999/ver").status_code == 404


def test_the_ticket_page_shows_thumbnails_and_links_pdfs(app, client, auth):
    ticket = make_ticket()
    kept = _comment_with(
        ticket, ("captura <b>.png", PNG), ("informe.pdf", PDF), ("datos.csv", b"a;b\n1;2\n")
    )
    auth.login("interno")
    page = client.get(f"/ticket/{ticket.id}/").get_data(as_text=True)
    image, pdf, csv = kept["captura _b_.png"], kept["informe.pdf"], kept["datos.csv"]
    thumbnails = re.findall(r'<img class="mesa-thumb" src="([^"]+)" alt="([^"]*)"', page)
    # in the comment and in the Adjuntos list, alt = the file's name (escaped)
    assert thumbnails == [(f"/ticket/{ticket.id}/attachment/{image.id}/ver", image.filename)] * 2
    assert f'href="/ticket/{ticket.id}/attachment/{pdf.id}/ver"' in page
    assert "Ver PDF" in text_of(client.get(f"/ticket/{ticket.id}/"))
    assert f"/attachment/{csv.id}/ver" not in page  # download-only
    assert f'href="/ticket/{ticket.id}/attachment/{csv.id}"' in page
    # the page's own policy stays as strict: no frames, no plugins
    policy = client.get(f"/ticket/{ticket.id}/").headers["Content-Security-Policy"]
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "frame-src" not in policy
