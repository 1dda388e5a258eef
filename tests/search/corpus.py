"""The shared search corpus: Spanish tickets and articles, and what each query must find.

`build()` makes the corpus through the services on whichever database the `app` fixture
runs (SQLite with FTS5, PostgreSQL with tsvector), and `CASES` says, per query, which
corpus tickets and articles it finds. The same table runs on both databases, so the two
backends find the same things by construction. A case with filters says nothing about
articles (filters are about tickets); one without says exactly which articles it finds.

Every ticket is of institution A (INSTA) unless its key ends in `_b`. Its module is
"otro" and its category "consulta", words no query asks for; no text carries a digit, so
a bare number can only be a reference. Words searched and where they are:

    firm-      firmar (T firmar), firmando (firmando), firmé (firme), B's firmar (b_token),
               firmas (draft article), firmar (article)
    cancion    canción (cancion_acento), cancion (cancion_plano)
    frases     "bandeja de entrada" (frase, article) vs bandeja ... entrada (palabras)
    impresora  impresora_toner (with tóner), impresora_red
    notes      virus (internal note of nota), cortafuegos (internal note of nota_propia,
               whose requester is the focal user)
    files      informe-trimestral.pdf (a comment's file), constancia-envio.pdf (a field)
    certific-  firmar's description, escalamiento_cert (A, SGE queue), escalamiento_cert_b
"""

import datetime as dt
from dataclasses import dataclass, field

from tests.conftest import user
from ticketing import search, services, stats
from ticketing.fields import UploadedFile
from ticketing.models import Article, Institution, Ticket, now
from ticketing.outbox import unit_of_work

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass(frozen=True)
class Note:
    author: str  # a demo account key (tests.conftest.user)
    body: str
    internal: bool = False
    files: tuple[str, ...] = ()  # PDF files of these names


@dataclass(frozen=True)
class Doc:
    key: str
    title: str
    descripcion: str
    requester: str = "interno"
    type: str = "soporte"
    notes: tuple[Note, ...] = ()
    field_file: str | None = None  # a PDF kept in the support form's `adjunto` field
    resolved: str | None = None  # the focal user resolves it with this comment
    created: dt.datetime | None = None  # moved back to this moment once built


MARCH, JUNE, SEPTEMBER = (dt.datetime(2024, m, d, 12, 0) for m, d in ((3, 10), (6, 15), (9, 20)))

TICKETS = (
    Doc(
        "firmar",
        "No puedo firmar el oficio circular",
        "Al firmar aparece un aviso de certificado caducado.",
        created=MARCH,
    ),
    Doc(
        "firmando",
        "El sistema se cuelga firmando memorandos",
        "Se queda procesando sin terminar.",
        resolved="Se reinstaló el componente.",
        created=JUNE,
    ),
    Doc(
        "firme",
        "Ayer firmé tres oficios y no aparecen",
        "Los destinatarios no reciben nada.",
        requester="aiq",
        created=SEPTEMBER,
    ),
    Doc(
        "cancion_acento",
        "La canción del tutorial no se reproduce",
        "Sin sonido en el video del curso.",
    ),
    Doc(
        "cancion_plano",
        "Audio cortado en el curso virtual",
        "La cancion de fondo se corta a la mitad.",
    ),
    Doc(
        "configuracion",
        "Error de CONFIGURACIÓN del perfil",
        "Tras la actualización el perfil quedó vacío.",
    ),
    Doc(
        "sesion_plano",
        "No mantiene la sesion abierta",
        "Cada cinco minutos pide ingresar de nuevo.",
    ),
    Doc(
        "frase",
        "Documentos perdidos en la bandeja de entrada",
        "Desaparecieron los recibidos de ayer.",
    ),
    Doc(
        "palabras",
        "La entrada del menú lleva a otra bandeja",
        "El enlace apunta mal.",
    ),
    Doc(
        "impresora_toner",
        "La impresora no imprime los oficios",
        "Se acabó el tóner de la impresora.",
    ),
    Doc(
        "impresora_red",
        "Impresora de red desconectada",
        "No responde desde el lunes.",
    ),
    Doc(
        "comentario",
        "Archivos digitalizados muy pesados",
        "Los archivos superan el límite.",
        notes=(Note("interno", "El escáner genera archivos enormes."),),
    ),
    Doc(
        "nota",
        "Equipo muy lento al abrir documentos",
        "Tarda varios minutos.",
        notes=(Note("focal", "Posible virus en el equipo del usuario.", internal=True),),
    ),
    Doc(
        "nota_propia",
        "Reasignación de documentos a otro funcionario",
        "Necesito reasignar los pendientes.",
        requester="focal",
        notes=(Note("aiq", "Revisar el cortafuegos institucional.", internal=True),),
    ),
    Doc(
        "adjunto",
        "Plantilla de informe desactualizada",
        "Adjunto el informe del trimestre.",
        notes=(Note("interno", "Va el archivo.", files=("informe-trimestral.pdf",)),),
    ),
    Doc(
        "adjunto_campo",
        "Mensaje extraño al guardar",
        "Aparece una ventana emergente.",
        field_file="constancia-envio.pdf",
    ),
    Doc(
        "escalamiento_cert",
        "Certificado raíz no reconocido por el servidor",
        "Falla la validación de la cadena.",
        requester="focal",
        type="escalamiento-sge",
    ),
    Doc(
        "escalamiento_cert_b",
        "Certificado vencido en el servidor central",
        "Urgente para la institución.",
        requester="focal_b",
        type="escalamiento-sge",
    ),
    Doc(
        "token_b",
        "No puedo firmar con el token nuevo",
        "El token no es reconocido.",
        requester="interno_b",
    ),
)


@dataclass(frozen=True)
class ArticleDoc:
    key: str
    title: str
    body: str
    tags: tuple[str, ...]
    category: str
    status: str = "published"


ARTICLES = (
    ArticleDoc(
        "art_firma",
        "Cómo firmar documentos con token",
        "Conecte el token **antes** de firmar. Si el certificado caducó, solicite uno nuevo.",
        ("token", "firma electrónica"),
        "Firma electrónica",
    ),
    ArticleDoc(
        "art_bandeja",
        "La bandeja de entrada, paso a paso",
        "La bandeja de entrada lista los documentos recibidos, del más nuevo al más antiguo.",
        ("bandejas",),
        "Bandejas",
    ),
    ArticleDoc(
        "art_contrasena",
        "Recuperar la contraseña",
        "Use el enlace «¿Olvidó su contraseña?» de la página de ingreso.",
        ("acceso",),
        "Credenciales",
    ),
    ArticleDoc(
        "art_borrador",
        "Borrador: firmas masivas",
        "Pendiente de revisión.",
        (),
        "Firma electrónica",
        status="draft",
    ),
)


def _pdf(name: str) -> UploadedFile:
    return UploadedFile(name, "application/pdf", PDF)


def build() -> dict[str, int]:
    """Open the corpus tickets and write its articles; returns {key: id}, articles included."""
    ids = {}
    for doc in TICKETS:
        fields = {"modulo": "otro", "descripcion": doc.descripcion}
        if doc.type == "soporte":
            fields["categoria"] = "consulta"
        if doc.field_file:
            fields["adjunto"] = _pdf(doc.field_file)
        ticket = services.open_ticket(user(doc.requester), doc.type, doc.title, fields)
        for note in doc.notes:
            services.add_comment(
                user(note.author),
                ticket.id,
                note.body,
                internal=note.internal,
                files=[_pdf(name) for name in note.files],
            )
        if doc.resolved:
            services.transition(user("focal"), ticket.id, "resolver", comment=doc.resolved)
        ids[doc.key] = ticket.id
    moved = [doc for doc in TICKETS if doc.created]
    with unit_of_work():
        for doc in moved:  # as if opened (and last touched) back then
            Ticket.update(created_at=doc.created, updated_at=doc.created).where(
                Ticket.id == ids[doc.key]
            ).execute()
            search.index_ticket(Ticket.get_by_id(ids[doc.key]))
    stats.rebuild()  # the week figures follow created_at
    agq = user("agq")
    with unit_of_work():
        for spec in ARTICLES:
            article = Article.create(
                title=spec.title,
                body=spec.body,
                tags=list(spec.tags),
                category=spec.category,
                language="es",
                institution=None,
                status=spec.status,
                author=agq.id,
                published_at=now() if spec.status == "published" else None,
            )
            search.index_article(article)
            ids[spec.key] = article.id
    return ids


@dataclass(frozen=True)
class Case:
    actor: str  # a demo account key
    query: str  # may name corpus ids: "MESA-{firme}"
    tickets: frozenset[str]
    articles: frozenset[str] = frozenset()
    filters: dict = field(default_factory=dict)  # institution by sigla, requester by key
    why: str = ""

    @property
    def id(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.filters.items())
        return f"{self.actor}:{self.query}" + (f"[{extra}]" if extra else "")


def case(actor, query, tickets=(), articles=(), why="", **filters) -> Case:
    return Case(actor, query, frozenset(tickets), frozenset(articles), filters, why)


FIRM = {"firmar", "firmando", "firme"}
CASES = (
    # accents and case
    case("focal", "canción", {"cancion_acento", "cancion_plano"}, why="accented query"),
    case("focal", "cancion", {"cancion_acento", "cancion_plano"}, why="plain query"),
    case("focal", "CANCIÓN", {"cancion_acento", "cancion_plano"}, why="upper case"),
    case("focal", "configuracion", {"configuracion"}, why="upper-case accented text"),
    case("focal", "Configuración", {"configuracion"}),
    case("focal", "SESIÓN", {"sesion_plano"}, why="text written without its accent"),
    case("focal", "toner", {"impresora_toner"}),
    # stemming: verb forms, plurals
    case("focal", "firmar", FIRM, {"art_firma"}, why="B's firmar and the draft are not seen"),
    case("focal", "firmando", FIRM, {"art_firma"}),
    case("focal", "firmé", FIRM, {"art_firma"}),
    case("focal", "Firmaron", FIRM, {"art_firma"}),
    case("agq", "firmar", (), {"art_firma", "art_borrador"}, why="first level is not SGE's"),
    case("interno_b", "firmar", {"token_b"}, {"art_firma"}),
    case("focal", "impresoras", {"impresora_toner", "impresora_red"}),
    case("focal", "oficios", {"firmar", "firme", "impresora_toner"}),
    case("focal", "archivo", {"comentario", "adjunto"}, why="a title, a public comment"),
    # words are ANDed, over title, fields, comments and notes together
    case("focal", "oficio caducado", {"firmar"}, why="title and description"),
    case("focal", "oficio memorandos", (), why="no ticket has both"),
    case("focal", "lento virus", {"nota"}, why="title and internal note"),
    # quoted phrases
    case("focal", '"bandeja de entrada"', {"frase"}, {"art_bandeja"}),
    case("focal", "bandeja entrada", {"frase", "palabras"}, {"art_bandeja"}),
    case("focal", '"entrada del menú"', {"palabras"}),
    case("focal", '"entrada bandeja"', (), why="both words, not in that order"),
    # -word excludes
    case("focal", "impresora", {"impresora_toner", "impresora_red"}),
    case("focal", "impresora -tóner", {"impresora_red"}),
    case("focal", "impresora -TONER", {"impresora_red"}),
    case("focal", "firmar -memorandos", {"firmar", "firme"}, {"art_firma"}),
    case("focal", "equipo -virus", (), why="the excluded word is in an internal note"),
    case("interno", "equipo -virus", {"nota"}, why="a note the requester never reads"),
    # comments, internal notes (never for the ticket's requester), file names
    case("focal", "escaner", {"comentario"}, why="a public comment"),
    case("interno", "escáner", {"comentario"}, why="the requester reads public comments"),
    case("focal", "virus", {"nota"}, why="an internal note, for staff"),
    case("aiq", "virus", {"nota"}),
    case("interno", "virus", (), why="the requester never reads internal notes"),
    case("aiq", "cortafuegos", {"nota_propia"}),
    case("focal", "cortafuegos", (), why="not even staff, on a ticket they raised"),
    case("focal", "trimestral", {"adjunto"}, why="a comment's file name"),
    case("interno", "trimestral", {"adjunto"}),
    case("focal", "constancia", {"adjunto_campo"}, why="a field's file name"),
    # references
    case("focal", "MESA-{firme}", {"firme"}),
    case("focal", "{firme}", {"firme"}, why="the bare number"),
    case("focal", "mesa-{firmar}", {"firmar"}, why="MESA-1 is not MESA-10..19"),
    case("focal", "MESA-{escalamiento_cert_b}", (), why="B's ticket"),
    case("agq", "MESA-{escalamiento_cert_b}", {"escalamiento_cert_b"}),
    # articles: title, body, tags, category
    case("interno", "contraseña", (), {"art_contrasena"}),
    case("focal", "credenciales", (), {"art_contrasena"}, why="its category"),
    case("focal", "acceso", (), {"art_contrasena"}, why="its tag"),
    case("focal", "borrador", (), why="SGE's draft, for the AGQ only"),
    case("agq", "borrador", (), {"art_borrador"}),
    # filters with the text
    case("focal", "certificado", {"firmar", "escalamiento_cert"}, {"art_firma"}),
    case("focal", "certificado", {"escalamiento_cert"}, {"art_firma"}, type="escalamiento-sge"),
    case("focal", "certificado", {"firmar"}, {"art_firma"}, type="soporte"),
    case("focal", "firmar", {"firmando"}, {"art_firma"}, state="resuelto"),
    case("focal", "firmar", {"firmar", "firme"}, {"art_firma"}, state="nuevo"),
    case("focal", "firmar", {"firme"}, {"art_firma"}, requester="aiq"),
    case(
        "focal",
        "firmar",
        {"firmando"},
        {"art_firma"},
        desde=dt.date(2024, 6, 1),
        hasta=dt.date(2024, 6, 30),
    ),
    case("focal", "firmar", {"firmando", "firme"}, {"art_firma"}, desde=dt.date(2024, 6, 1)),
    case(
        "focal",
        "firmar",
        {"firmar", "firmando"},
        {"art_firma"},
        why="hasta includes its day",
        hasta=dt.date(2024, 6, 15),
    ),
    case("agq", "certificado", {"escalamiento_cert", "escalamiento_cert_b"}, {"art_firma"}),
    case("agq", "certificado", {"escalamiento_cert_b"}, {"art_firma"}, institution="INSTB"),
    case("agq", "certificado", {"escalamiento_cert"}, {"art_firma"}, institution="INSTA"),
    case("agq", "servidor", {"escalamiento_cert", "escalamiento_cert_b"}),
)

NO_WORD = ("", "   ", "de la", '""')  # nothing searchable: a problem, no hits


def query_of(c: Case, ids: dict[str, int]) -> str:
    return c.query.format(**ids)


def filters_of(c: Case) -> dict:
    """The case's filters as `search.search` takes them (ids instead of keys)."""
    out = {}
    for key, value in c.filters.items():
        if key == "institution":
            value = Institution.get(Institution.sigla == value).id
        elif key == "requester":
            value = user(value).id
        out[key] = value
    return out
