"""A page's form as a browser holds it: read from the HTML, changed by name, posted back."""

import html as html_lib
import re
from html.parser import HTMLParser

from tests.conftest import text_of


class PageForm(HTMLParser):
    """The inputs of the form with `data-testid=testid`, with the values a browser would send.

    Setting an input that the page does not have fails, so a test only sends what a person
    could: what it posts is what the real form offers.
    """

    def __init__(self, html: str, testid: str):
        super().__init__(convert_charrefs=True)
        self.testid = testid
        self.inside = False
        self.kinds: dict[str, str] = {}
        self.values: dict[str, list[str]] = {}
        self.options: dict[str, list[str]] = {}
        self.labels: dict[str, str] = {}
        self._select = None
        self._textarea = None
        self._label_for = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("data-testid") == self.testid:
            self.inside = True
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "label" and attrs.get("for"):
            self._label_for = attrs["for"]
            self.labels.setdefault(attrs["for"], "")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind == "submit":
                return
            if kind == "checkbox":
                self.kinds[name] = "checkbox"
                self.options.setdefault(name, []).append(attrs.get("value", "y"))
                self.values.setdefault(name, [])
                if "checked" in attrs:
                    self.values[name].append(attrs.get("value", "y"))
            else:
                self.kinds[name] = kind
                self.values[name] = [attrs.get("value") or ""]
        elif tag == "textarea" and name:
            self.kinds[name] = "textarea"
            self.values[name] = [""]
            self._textarea = name
        elif tag == "select" and name:
            self.kinds[name] = "select"
            self.options[name] = []
            self.values[name] = []
            self._select = name
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            self.options[self._select].append(value)
            if "selected" in attrs:
                self.values[self._select] = [value]

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self._select:
            if not self.values[self._select] and self.options[self._select]:
                self.values[self._select] = [self.options[self._select][0]]
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "label":
            self._label_for = None

    def handle_data(self, data):
        if self._textarea:
            before = self.values[self._textarea][0]
            if not before:  # a browser drops the one newline that follows <textarea>
                data = data[2:] if data.startswith("\r\n") else data.removeprefix("\n")
            self.values[self._textarea] = [before + data]
        if self._label_for:
            self.labels[self._label_for] += data

    def set(self, name: str, value: str) -> "PageForm":
        kind = self.kinds[name]  # KeyError: the page has no such input
        assert kind not in ("checkbox",), f"{name} is a checkbox: use check()"
        if kind == "select":
            assert value in self.options[name], f"{value!r} is not an option of {name}"
        self.values[name] = [value]
        return self

    def check(self, name: str, value: str = "y", on: bool = True) -> "PageForm":
        assert value in self.options[name], (
            f"{value!r} is not a box of {name}: {self.options[name]}"
        )
        chosen = [v for v in self.values[name] if v != value]
        self.values[name] = chosen + ([value] if on else [])
        return self

    def data(self, **extra) -> dict:
        data = {name: values for name, values in self.values.items() if values}
        data.update(extra)
        return data


def page_form(response, testid="designer-form") -> PageForm:
    return PageForm(response.get_data(as_text=True), testid)


def post(client, url, form: PageForm, op="save", **kwargs):
    """Press a submit button of the designer form (`op`: save, add:fields, ...)."""
    return client.post(url, data=form.data(op=op), **kwargs)


def errors_of(response) -> list[str]:
    """The error summary of a designer page, one line per mistake."""
    html = response.get_data(as_text=True)
    box = re.search(r'data-testid="(?:designer|import)-errors">(.*?)</div>', html, re.S)
    if not box:
        return []
    return [
        html_lib.unescape(re.sub(r"\s+", " ", item).strip())
        for item in re.findall(r"<li>(.*?)</li>", box.group(1), re.S)
    ]


def flat(response) -> str:
    return text_of(response)
