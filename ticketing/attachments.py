"""The one upload path: every file kept with a ticket is checked, typed and named here.

The type of a file is decided from its bytes (`filetype` for binary formats), never from
the name or the Content-Type the uploader sent. Accepted: PDF, office documents, images,
archives, and plain text (.txt, .csv, .log, ...) that decodes as UTF-8 or Windows-1252.
Refused: executables (MZ, ELF, Mach-O) and scripts, markup a browser would run (HTML,
SVG, XML), and any file whose bytes contradict its extension (an `MZ` named `.pdf`).
A text file is always served as `text/plain` (or `text/csv`), whatever it contains.

Every download is `Content-Disposition: attachment`. Only a PNG, JPEG, GIF or WebP image
and a PDF may also be shown inline (`inline_response`), and only when the bytes, looked at
again as they are served, are that type: never from the name or the stored type alone.
SVG, HTML and every other type stay download-only.
"""

import io
import re
import unicodedata

import filetype
from flask import send_file
from flask_babel import gettext as _

from ticketing.errors import TooLarge, ValidationFailed
from ticketing.fields import UploadedFile

MAX_NAME_LENGTH = 120  # characters of a stored name, extension included
FALLBACK_NAME = "adjunto"

# detected type -> the extensions a file of that type may carry
BINARY_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "image/png": ("png",),
    "image/apng": ("png", "apng"),
    "image/jpeg": ("jpg", "jpeg", "jfif"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "image/tiff": ("tif", "tiff"),
    "image/bmp": ("bmp",),
    "image/heic": ("heic",),
    "application/rtf": ("rtf",),
    "application/zip": ("zip",),
    "application/gzip": ("gz", "tgz"),
    "application/x-7z-compressed": ("7z",),
    "application/x-rar-compressed": ("rar",),
}
# formats filetype cannot tell apart (one container, several kinds): any of the family's
# extensions is accepted and the type served is the extension's
OLE_TYPES = {  # Compound File Binary: Office 97-2003
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}
ZIP_TYPES = {  # zip containers: Office Open XML and OpenDocument
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "zip": "application/zip",
}
TEXT_TYPES = {
    "txt": "text/plain",
    "log": "text/plain",
    "md": "text/plain",
    "json": "text/plain",
    "yaml": "text/plain",
    "yml": "text/plain",
    "csv": "text/csv",
}
# what a stored attachment may be served as; anything else (a row kept before these checks
# with the type its uploader claimed) is served as application/octet-stream
SERVED_TYPES = (
    set(BINARY_TYPES)
    | set(OLE_TYPES.values())
    | set(ZIP_TYPES.values())
    | {f"{t}; charset={c}" for t in set(TEXT_TYPES.values()) for c in ("utf-8", "windows-1252")}
)

# what the ticket page may show inline: images as thumbnails, PDFs in the browser's viewer
IMAGE_PREVIEWS = ("image/png", "image/jpeg", "image/gif", "image/webp")
PDF_PREVIEW = "application/pdf"
PREVIEW_TYPES = (*IMAGE_PREVIEWS, PDF_PREVIEW)
# an inline file runs nothing, loads nothing, is framed by no page and is its own opaque
# origin; Chromium's PDF viewer still shows a PDF opened under it (checked in Chromium),
# whereas it refuses to run inside an <iframe sandbox>: the page links to PDFs instead
INLINE_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

_EXECUTABLE_MAGIC = (
    b"MZ",  # DOS/Windows
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O, 32 and 64 bits, both byte orders
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary (and Java class files)
    b"#!",  # a script with an interpreter line
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in range(10)
}
_TEXT_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


def safe_name(name: str) -> str:
    """A name safe to store and send back: basename only, printable, NFC, length-limited."""
    name = unicodedata.normalize("NFC", name if isinstance(name, str) else "")
    name = re.split(r"[/\\]", name)[-1]
    # control, format (bidi overrides), private-use and unassigned characters go
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = " ".join(_WINDOWS_FORBIDDEN.sub("_", name).split())
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem, extension = stem.strip(" ."), extension.strip(" ")
    if len(extension) > 16:  # not an extension: part of the name
        stem, extension = f"{stem}.{extension}".strip(" ."), ""
    if not stem or stem.upper() in _WINDOWS_RESERVED:
        stem = f"{FALLBACK_NAME}-{stem}" if stem else FALLBACK_NAME
    suffix = f".{extension}" if extension else ""
    return stem[: MAX_NAME_LENGTH - len(suffix)].rstrip(" .") + suffix


def extension_of(name: str) -> str:
    """The lower-case extension of a name, without the dot ('' when it has none)."""
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def _refused(name: str) -> ValidationFailed:
    return ValidationFailed(
        _(
            "No se aceptan archivos como «%(name)s». Se aceptan PDF, documentos de oficina, "
            "imágenes, texto (.txt, .csv, .log) y archivos comprimidos.",
            name=name,
        )
    )


def _text_charset(data: bytes) -> str | None:
    """The charset `data` reads as plain text in, or None when it is not text."""
    if _TEXT_CONTROL.search(data):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:  # what Excel and Notepad save on Spanish Windows
        data.decode("windows-1252")
    except UnicodeDecodeError:
        return None
    return "windows-1252"


def decided_type(name: str, data: bytes) -> str:
    """The content type `data` is kept and served as; raises ValidationFailed if refused."""
    extension = extension_of(name)
    kind = filetype.guess(data)
    if kind is not None:
        if kind.mime in BINARY_TYPES and extension in BINARY_TYPES[kind.mime]:
            return kind.mime
        if kind.mime in ZIP_TYPES.values() and extension in ZIP_TYPES:
            return ZIP_TYPES[extension]
        if kind.mime in OLE_TYPES.values() and extension in OLE_TYPES:
            return OLE_TYPES[extension]
    elif data.startswith(_OLE_MAGIC) and extension in OLE_TYPES:
        return OLE_TYPES[extension]  # filetype recognises only some Compound Files
    if data.startswith(_EXECUTABLE_MAGIC):
        raise _mismatch(name, extension) if extension in _accepted() else _refused(name)
    if kind is None and extension in TEXT_TYPES:
        charset = _text_charset(data)
        if charset is not None:
            return f"{TEXT_TYPES[extension]}; charset={charset}"
    if extension in _accepted():
        raise _mismatch(name, extension)
    raise _refused(name)


def _accepted() -> set[str]:
    return (
        {e for extensions in BINARY_TYPES.values() for e in extensions}
        | set(OLE_TYPES)
        | set(ZIP_TYPES)
        | set(TEXT_TYPES)
    )


def _mismatch(name: str, extension: str) -> ValidationFailed:
    return ValidationFailed(
        _(
            "El contenido de «%(name)s» no corresponde a un archivo .%(ext)s.",
            name=name,
            ext=extension,
        )
    )


def checked_upload(upload: UploadedFile, *, max_mb, extensions=None) -> UploadedFile:
    """The upload with a safe name and the type its bytes show; refuses what is not accepted.

    Raises TooLarge over `max_mb` MiB and ValidationFailed for an empty file, an extension
    outside `extensions` (when given), or a type the product does not accept.
    """
    data = upload.data or b""
    name = safe_name(upload.filename)
    if not data:
        raise ValidationFailed(_("El archivo está vacío."))
    if len(data) > float(max_mb) * 1024 * 1024:
        raise TooLarge(_("El archivo supera el tamaño máximo de %(n)s MB.", n=f"{max_mb:g}"))
    allowed = [str(e).strip().lower().lstrip(".") for e in (extensions or []) if str(e).strip()]
    if allowed and extension_of(name) not in allowed:
        raise ValidationFailed(
            _("Tipo de archivo no permitido; se aceptan: %(ext)s.", ext=", ".join(allowed))
        )
    return UploadedFile(name, decided_type(name, data), data)


def served_type(stored: str, data: bytes | None = None) -> str:
    """The type a stored attachment is sent with: its decided type, else octet-stream.

    With `data`, a stored binary type (an image, a PDF...) the bytes do not show is sent
    as octet-stream too: a row written with a claimed type never reaches a browser as one.
    """
    if stored not in SERVED_TYPES:
        return "application/octet-stream"
    if data is not None and stored in BINARY_TYPES and bytes_type(data) != stored:
        return "application/octet-stream"
    return stored


def bytes_type(data: bytes) -> str | None:
    """The binary type `data` shows (filetype), or None."""
    kind = filetype.guess(data)
    return kind.mime if kind is not None else None


def preview_kind(content_type: str) -> str | None:
    """'image' or 'pdf' when a stored type may be shown on the ticket page, else None.

    From the type decided at upload, to choose a thumbnail or a link; the inline view
    checks the bytes again before it shows anything.
    """
    if content_type in IMAGE_PREVIEWS:
        return "image"
    if content_type == PDF_PREVIEW:
        return "pdf"
    return None


def inline_type(attachment) -> str | None:
    """The type an attachment (blob loaded) is shown inline as, or None when it may not be.

    Both its stored type and its bytes must be the same previewable type.
    """
    data = bytes(attachment.blob.data)
    shown = bytes_type(data)
    if shown in PREVIEW_TYPES and served_type(attachment.content_type, data) == shown:
        return shown
    return None


def _file_response(attachment, content_type: str, *, inline: bool, policy: str):
    response = send_file(
        io.BytesIO(bytes(attachment.blob.data)),
        mimetype=content_type.split(";")[0],
        as_attachment=not inline,  # RFC 5987 filename* for a non-ASCII name, ASCII fallback
        download_name=safe_name(attachment.filename),
        etag=attachment.blob.sha256,
        max_age=0,
    )
    response.headers["Content-Type"] = content_type  # with the charset the bytes were read in
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = policy
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def download_response(attachment):
    """An attachment (with its blob loaded) as a download no browser renders or sniffs."""
    content_type = served_type(attachment.content_type, bytes(attachment.blob.data))
    return _file_response(
        attachment, content_type, inline=False, policy="default-src 'none'; sandbox"
    )


def inline_response(attachment):
    """A previewable attachment (blob loaded) shown in the browser, or None if it is not one."""
    content_type = inline_type(attachment)
    if content_type is None:
        return None
    return _file_response(attachment, content_type, inline=True, policy=INLINE_POLICY)
