"""Words as search sees them: the query's syntax, and Spanish folding and stemming.

PostgreSQL folds and stems with its own text search configuration (`mesa_es`: the
`spanish` one with `unaccent` before the Snowball stemmer); SQLite gets the same from this
module: lower case, accents dropped, PostgreSQL's Spanish stop words left out, Snowball's
Spanish stem. Both read the query through `parse`, so they find the same things.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import snowballstemmer
from markupsafe import Markup, escape

MAX_QUERY = 200  # characters of a query kept
MAX_TERMS = 12  # words or phrases of a query kept
_STOP_FILE = Path(__file__).with_name("spanish.stop")  # PostgreSQL's tsearch_data/spanish.stop
# a word is a run of letters and digits; PostgreSQL is given the text with punctuation
# turned into spaces (`PUNCTUATION`), so its parser finds the same words, not hosts or tags
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
PUNCTUATION = "./\\@_-<>&=?!#%+*'\"()[]{}|~^$:;,`"
_TERM = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_REFERENCE = re.compile(r"^(?:mesa-?)?(\d{1,9})$", re.IGNORECASE)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    return frozenset(w.strip() for w in _STOP_FILE.read_text("utf-8").split() if w.strip())


@lru_cache(maxsize=1)
def _stemmer():
    return snowballstemmer.stemmer("spanish")


def fold(text: str) -> str:
    """Lower case without accents: "Canción" -> "cancion" (ñ -> n, as `unaccent` does)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words of `text`, in order."""
    return _WORD.findall(fold(text or ""))


def stem(word: str) -> str | None:
    """The indexed form of one folded word; None for a stop word."""
    if word in stop_words():
        return None
    return _stemmer().stemWord(word)


def stems(text: str) -> list[str]:
    """The indexed forms of `text`'s words, in order, stop words left out."""
    return [s for s in (stem(w) for w in words(text)) if s]


GAP = "qqgapqq"  # where a stop word stood: PostgreSQL counts its position, so phrases do


def indexed(text: str) -> list[str]:
    """What SQLite's FTS5 table holds for `text`: stems, and a GAP for each stop word."""
    return [stem(w) or GAP for w in words(text)]


@dataclass(frozen=True)
class Term:
    text: str  # as typed (a word, or a phrase's words)
    phrase: bool
    negated: bool

    @property
    def stems(self) -> list[str]:
        return stems(self.text)

    @property
    def phrase_forms(self) -> list[str]:
        """The term as FTS5 must find it: stems, GAPs between them, none at the ends."""
        forms = indexed(self.text)
        while forms and forms[0] == GAP:
            forms.pop(0)
        while forms and forms[-1] == GAP:
            forms.pop()
        return forms


@dataclass(frozen=True)
class Parsed:
    """A query: words and "phrases" that must all occur, -words that must not."""

    raw: str
    terms: tuple[Term, ...] = field(default_factory=tuple)

    @property
    def positive(self) -> list[Term]:
        return [t for t in self.terms if not t.negated and t.stems]

    @property
    def negative(self) -> list[Term]:
        return [t for t in self.terms if t.negated and t.stems]

    @property
    def only_common(self) -> bool:
        """Words were typed, but all of them stop words ("de la")."""
        return bool(self.terms) and not self.positive and not self.negative

    @property
    def searchable(self) -> bool:
        """Whether some word that is not a stop word must occur."""
        return bool(self.positive)

    @property
    def reference(self) -> int | None:
        """The ticket id when the whole query is a reference ("MESA-12", "12")."""
        found = _REFERENCE.match(self.raw.strip())
        return int(found.group(1)) if found else None

    def websearch(self) -> str:
        """The query in `websearch_to_tsquery`'s syntax, rebuilt from what was understood."""
        parts = []
        for term in self.positive + self.negative:
            text = " ".join(words(term.text))
            body = f'"{text}"' if term.phrase else text
            parts.append(("-" if term.negated else "") + body)
        return " ".join(parts)

    def fts5(self) -> str:
        """The query as an FTS5 MATCH expression over the stemmed columns."""

        def quoted(term):
            return '"' + " ".join(term.phrase_forms) + '"'

        expression = " AND ".join(quoted(t) for t in self.positive)
        if len(self.positive) > 1:
            expression = f"({expression})"
        for term in self.negative:
            expression += f" NOT {quoted(term)}"
        return expression

    def highlight(self, text: str, *, width: int = 30) -> Markup:
        """A snippet of `text` around the first hit, escaped, hits in <mark> (SQLite's
        ts_headline)."""
        wanted = {s for t in self.positive for s in t.stems}
        spans = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(fold(text))]
        # folding keeps lengths for the letters Spanish uses; fall back to no marks if not
        if len(fold(text)) != len(text):
            return Markup(escape(" ".join(text.split()[:width])))
        hits = [i for i, (_, _, w) in enumerate(spans) if stem(w) in wanted]
        if not spans:
            return Markup("")
        first = max(0, (hits[0] if hits else 0) - width // 3)
        last = min(len(spans), first + width)
        out, position = [], spans[first][0]
        for i in range(first, last):
            start, end, _ = spans[i]
            out.append(escape(text[position:start]))
            piece = escape(text[start:end])
            out.append(Markup(f"<mark>{piece}</mark>") if i in hits else piece)
            position = end
        prefix = "… " if first > 0 else ""
        suffix = " …" if last < len(spans) else ""
        return Markup(prefix + "".join(str(p) for p in out).strip() + suffix)


def parse(raw: str | None) -> Parsed:
    """Read a query typed by a person: words, "phrases", -excluded words or phrases."""
    raw = (raw or "")[:MAX_QUERY]
    raw = "".join(c if c.isprintable() else " " for c in raw)
    terms = []
    for found in _TERM.finditer(raw):
        if found.group(2) is not None:
            negated, text, phrase = bool(found.group(1)), found.group(2), True
        else:
            negated, text = bool(found.group(3)), found.group(4)
            phrase = len(words(text)) > 1  # "MESA-12", "e-mail": one term of several words
        if words(text):
            terms.append(Term(text=text, phrase=phrase, negated=negated))
    return Parsed(raw=raw, terms=tuple(terms[:MAX_TERMS]))
