"""The English catalog: every Spanish msgid translated, the .mo in sync, English on real pages.

Messages are extracted at test time from the code with babel.cfg, exactly as
`pybabel extract` does (README, Operations, Translations), so a new Spanish string
without an English translation fails here with its msgid and where it is.
"""

import ast
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import g

from tests.conftest import PASSWORD, make_ticket, text_of, user

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "ticketing" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
# `pybabel extract -k _l -k lazy_gettext` on top of Babel's defaults (_, gettext, ngettext...).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# every top-level package of the project (a folder with an __init__.py)
SOURCE_PACKAGES = tuple(
    sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests")
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
HOW_TO_FIX = (
    "\nRun the three commands of README.md, Operations, Translations: extract, update, "
    "translate the new entries in the .po (and remove '#, fuzzy' after checking them), compile."
)


def _po():
    with PO.open("rb") as f:
        return read_po(f, locale="en")


def _extracted() -> dict[tuple, str]:
    """(msgid, context) -> 'file:line' for every message the code marks for translation."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[tuple, str] = {}
    for filename, lineno, msgid, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        if msgid and (isinstance(msgid, str) or msgid[0]):
            found.setdefault((msgid, context), f"{filename}:{lineno}")
    return found


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(s and s.strip() for s in strings)


def test_extraction_finds_the_catalogued_messages():
    # Guards the extraction itself: a broken mapping would make the next test pass vacuously.
    extracted = _extracted()
    assert len(extracted) > 500
    assert ("Nuevo ticket", None) in extracted
    assert (("%(num)d resultado", "%(num)d resultados"), None) in extracted


def test_every_extracted_message_has_an_english_translation():
    catalog = _po()
    assert not catalog.fuzzy, "The .po header is fuzzy: pybabel compile would skip the catalog."
    missing = []
    for (msgid, context), where in sorted(_extracted().items(), key=lambda kv: kv[1]):
        message = catalog.get(msgid, context=context)
        plural = isinstance(msgid, tuple)
        if (
            message is None
            or message.fuzzy
            or plural != message.pluralizable
            or not _translated(message)
        ):
            missing.append(f"  {where}: {msgid!r}")
    assert not missing, (
        f"{len(missing)} message(s) without an English translation (or fuzzy):\n"
        + "\n".join(missing)
        + HOW_TO_FIX
    )


def test_no_catalog_entry_is_fuzzy():
    fuzzy = [repr(m.id) for m in _po() if m.id and m.fuzzy]
    assert not fuzzy, "Fuzzy entries (not compiled, shown in Spanish):\n" + "\n".join(fuzzy)


def test_translations_keep_placeholders():
    catalog = _po()
    wrong = [f"{m.id!r}: {errors}" for m, errors in catalog.check()]
    for message in catalog:
        if not message.id or not _translated(message):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if sorted(PLACEHOLDER.findall(string)) != expected:
                wrong.append(f"{message.id!r} -> {string!r}")
    assert not wrong, "Placeholders differ between msgid and translation:\n" + "\n".join(wrong)


def test_extraction_maps_every_package_that_translates():
    """A package moved or added with `_()` in it must be in babel.cfg, or the next
    `pybabel update` silently drops its messages from the catalog."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, _options = parse_mapping_cfg(f)
    patterns = [pattern for pattern, _method in method_map]
    unmapped = []
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if "flask_babel import" in text and "gettext" in text:
                relative = path.relative_to(ROOT).as_posix()
                if not any(_matches(relative, p) for p in patterns):
                    unmapped.append(relative)
    assert not unmapped, "add these to babel.cfg:\n" + "\n".join(unmapped)


def _matches(relative: str, pattern: str) -> bool:
    from babel.util import pathmatch

    return pathmatch(pattern, relative)


def test_code_uses_only_extracted_gettext_names():
    # `from flask_babel import lazy_ngettext as _ln` would go unextracted without a keyword.
    unknown = []
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom):
                    for alias in node.names:
                        name = alias.asname or alias.name
                        if "gettext" in alias.name and name not in KEYWORDS:
                            unknown.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert not unknown, (
        "Add these names as -k keywords to the extract command (README) and to KEYWORDS:\n"
        + "\n".join(unknown)
    )


def _messages(catalog) -> dict:
    """(msgid, context) -> translation, plurals as tuples."""
    return {(_tuple(m.id), m.context): _tuple(m.string) for m in catalog if m.id}


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value


def test_committed_mo_is_compiled_from_the_po():
    compiled = io.BytesIO()
    write_mo(compiled, _po())
    compiled.seek(0)
    expected = _messages(read_mo(compiled))
    with MO.open("rb") as f:
        committed = _messages(read_mo(f))
    stale = sorted(
        repr(key[0])
        for key in expected.keys() | committed.keys()
        if expected.get(key) != committed.get(key)
    )
    assert expected, "The .po has no compiled translations."
    assert not stale, (
        f"{MO.relative_to(ROOT)} is out of date for {len(stale)} message(s); run "
        "`pybabel compile -d ticketing/translations`:\n" + "\n".join(stale[:50])
    )


# With the app. The app fixture keeps one app context open for the whole test, so every
# request shares its g, where Flask-Babel caches the locale and Flask-Login the user (with
# the locale it had when loaded). In production each request starts with an empty g.


def _fresh_g():
    for key in list(g):
        g.pop(key)


def _get(client, url, **kwargs):
    _fresh_g()
    return client.get(url, **kwargs)


def _switch(client, code):
    _fresh_g()
    response = client.post(f"/locale/{code}")
    assert response.status_code == 302


def _pages(ticket_id):
    """url -> (English, Spanish) texts that the focal user of institution A sees there."""
    return {
        "/": (
            ["My tickets", "Follow-up", "Assigned to me", "Sign out"],
            ["Mis tickets", "Seguimiento", "Asignados a mí", "Cerrar sesión"],
        ),
        "/nuevo/": (["Choose the type of request:"], ["Elija el tipo de solicitud:"]),
        f"/ticket/{ticket_id}/": (
            ["New comment", "Internal note (not visible to the requester)", "History"],
            ["Nuevo comentario", "Nota interna (no la ve el solicitante)", "Historial"],
        ),
        "/cola/": (
            ["INSTA help desk queue", "Unassigned", "Words or reference (MESA-…)"],
            ["Cola de la mesa de ayuda de INSTA", "Sin asignar", "Palabras o referencia (MESA-…)"],
        ),
    }


def _assert_language(client, pages, language):
    for url, (english, spanish) in pages.items():
        response = _get(client, url)
        assert response.status_code == 200, url
        text = text_of(response)
        shown, hidden = (english, spanish) if language == "en" else (spanish, english)
        assert f'<html lang="{language}">' in response.get_data(as_text=True), url
        for phrase in shown:
            assert phrase in text, f"{url} in {language}: {phrase!r} missing"
        for phrase in hidden:
            assert phrase not in text, f"{url} in {language}: {phrase!r} shown"


def test_switching_to_english_and_back_changes_the_pages(client, auth):
    ticket = make_ticket(requester=user("interno"))
    auth.login("focal")
    pages = _pages(ticket.id)
    _assert_language(client, pages, "es")

    _switch(client, "en")
    _assert_language(client, pages, "en")
    assert "Español" in text_of(_get(client, "/"))

    _switch(client, "es")
    _assert_language(client, pages, "es")
    assert "English" in text_of(_get(client, "/"))


def test_the_english_choice_follows_the_person_to_another_browser(app, client, auth):
    auth.login("focal")
    _switch(client, "en")
    other_browser = app.test_client()
    _fresh_g()
    response = other_browser.post(
        "/login", data={"email": user("focal").email, "password": PASSWORD}
    )
    assert response.status_code == 302
    text = text_of(_get(other_browser, "/"))
    assert "My tickets" in text and "Mis tickets" not in text


@pytest.mark.parametrize(
    ("accept_language", "language", "phrases"),
    [
        ("en-US,en;q=0.9", "en", ["Sign in", "Password", "Remember me on this computer"]),
        ("es-EC,es;q=0.9,en;q=0.5", "es", ["Iniciar sesión", "Contraseña", "Recordarme"]),
        (None, "es", ["Iniciar sesión", "Contraseña"]),
    ],
)
def test_login_page_honors_accept_language(app, accept_language, language, phrases):
    browser = app.test_client()
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = _get(browser, "/login", headers=headers)
    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.get_data(as_text=True)
    text = text_of(response)
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} missing for Accept-Language {accept_language!r}"
    other = "Iniciar sesión" if language == "en" else "Sign in"
    assert other not in text
