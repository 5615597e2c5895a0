"""Reading the app's pages as a browser would, for the tests that walk every route: the forms
(with their fields and default values), the links and the htmx requests a page makes, and the
taint check (is a marker anywhere but text?).

``parse(html)`` -> ``Page``; ``taint_problems(html, markers)`` -> list of problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote_plus, urljoin, urlsplit

TEXT_INPUTS = {"text", "search", "tel", "email", "url", "number", "date", "hidden", "password", ""}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"}
# Attributes a browser and this app's scripts only ever treat as text (``data-confirm`` is shown
# by ``window.confirm``, ``data-msg-*`` through ``textContent``).
INERT_ATTRIBUTES = {"value", "title", "alt", "placeholder", "aria-label", "aria-description", "label", "data-confirm"}
INERT_PREFIXES = ("data-msg-",)
RAW_TEXT = {"script", "style"}


@dataclass
class Field:
    name: str
    tag: str  # input, textarea, select, button
    kind: str  # the input's type ("text", "hidden", ...), "textarea", "select", "submit"
    value: str = ""
    options: list[str] = field(default_factory=list)
    checked: bool = False
    maxlength: int | None = None
    attrs: dict = field(default_factory=dict)

    @property
    def writable(self) -> bool:
        """A field a person types into (or an attacker rewrites: hidden fields too)."""
        return self.tag == "textarea" or (self.tag == "input" and self.kind in TEXT_INPUTS and self.name != "csrf_token")


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: list[Field] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)
    hx: list["HxRequest"] = field(default_factory=list)  # htmx requests made from inside the form

    def values(self) -> dict[str, list[str]]:
        """What a browser submits without anyone touching the form (buttons excluded)."""
        data: dict[str, list[str]] = {}
        for f in self.fields:
            if f.tag == "button" or f.kind in ("submit", "button", "file", "reset", "image"):
                continue
            if f.kind in ("radio", "checkbox"):
                if f.checked:
                    data.setdefault(f.name, []).append(f.value or "on")
                continue
            if f.kind == "select":
                data.setdefault(f.name, []).append(f.value if f.value is not None else (f.options[0] if f.options else ""))
                continue
            data.setdefault(f.name, []).append(f.value)
        return data

    def choices(self, name: str) -> list[str]:
        """The values a person can pick for ``name`` (radio buttons, checkboxes, options)."""
        found = []
        for f in self.fields:
            if f.name == name:
                found.extend(f.options if f.kind == "select" else [f.value] if f.kind in ("radio", "checkbox") else [])
        return found


@dataclass
class HxRequest:
    method: str
    url: str
    target: str | None  # the id htmx names in HX-Target
    form: Form | None  # the enclosing form (its values are sent along)


@dataclass
class Page:
    url: str
    links: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    hx: list[HxRequest] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


class _Reader(HTMLParser):
    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.page = Page(url)
        self.form: Form | None = None
        self.select: Field | None = None
        self.textarea: Field | None = None
        self.option_value: str | None = None
        self.option_text = ""
        self.stack: list[tuple[str, str | None]] = []  # (tag, id) of open elements

    def _url(self, value: str) -> str:
        return urljoin(self.page.url, value)

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if a.get("id"):
            self.page.ids.add(a["id"])
        if tag not in ("input", "img", "br", "meta", "link", "hr", "source"):
            self.stack.append((tag, a.get("id")))
        if tag == "a" and a.get("href") and not a["href"].startswith(("#", "mailto:", "javascript:", "data:")):
            self.page.links.append(self._url(a["href"]))
        for method in ("get", "post"):
            if a.get(f"hx-{method}") is not None:
                target = a.get("hx-target", "")
                if target.startswith("#"):
                    target = target[1:]
                elif target in ("", "this"):
                    target = a.get("id") or next((i for _t, i in reversed(self.stack) if i), None)
                else:
                    target = None  # "closest …", "next …": not an id this test follows
                url = a[f"hx-{method}"] or self.page.url
                request = HxRequest(method.upper(), self._url(url), target, self.form)
                self.page.hx.append(request)
                if self.form is not None and tag != "form":
                    self.form.hx.append(request)
        if tag == "form":
            self.form = Form(
                action=self._url(a.get("action") or self.page.url), method=(a.get("method") or "get").lower(),
                enctype=a.get("enctype", ""), attrs=a,
            )
            self.page.forms.append(self.form)
            return
        if tag == "option":
            if self.select is not None:
                self.option_value = a.get("value")
                self.option_text = ""
                if "selected" in a:
                    self.select.value = a.get("value", "")
                if self.option_value is not None:
                    self.select.options.append(self.option_value)
            return
        if self.form is None or not a.get("name"):
            return
        maxlength = a.get("maxlength")
        maxlength = int(maxlength) if maxlength and maxlength.isdigit() else None
        if tag == "input":
            self.form.fields.append(Field(a["name"], "input", a.get("type", "text").lower(), a.get("value", ""),
                                          checked="checked" in a, maxlength=maxlength, attrs=a))
        elif tag == "textarea":
            self.textarea = Field(a["name"], "textarea", "textarea", "", maxlength=maxlength, attrs=a)
            self.form.fields.append(self.textarea)
        elif tag == "select":
            self.select = Field(a["name"], "select", "select", None, attrs=a)
            self.form.fields.append(self.select)
        elif tag == "button":
            self.form.fields.append(Field(a["name"], "button", a.get("type", "submit"), a.get("value", ""), attrs=a))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in ("input", "img", "br", "meta", "link", "hr", "source") and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break
        if tag == "form":
            self.form = None
        elif tag == "select":
            if self.select is not None and self.select.value is None:
                self.select.value = self.select.options[0] if self.select.options else ""
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "option" and self.select is not None and self.option_value is None:
            self.select.options.append(self.option_text.strip())

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea.value += data
        if self.select is not None:
            self.option_text += data


def parse(html: str, url: str) -> Page:
    """The forms, links and htmx requests of a page (or fragment) served at ``url``."""
    reader = _Reader(url)
    reader.feed(html)
    reader.close()
    for form in reader.page.forms:
        for f in form.fields:
            if f.tag == "textarea" and f.value.startswith("\n"):
                f.value = f.value[1:]  # the parser keeps the newline HTML drops after <textarea>
    return reader.page


def local_path(url: str) -> str | None:
    """``/path?query`` of a URL on the test client's host, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "http") or parts.netloc not in ("", "localhost"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


# ---- the taint check ------------------------------------------------------------------------


class _TaintReader(HTMLParser):
    def __init__(self, marker: re.Pattern, literal_after: str):
        super().__init__(convert_charrefs=True)
        self.marker = marker
        self.literal_after = literal_after
        self.problems: list[str] = []
        self.raw: list[str] = []

    def _text(self, where: str, text: str) -> None:
        for match in self.marker.finditer(text):
            if match.start() == 0 or text[match.start() - 1] != "=":
                continue  # not the payload's head ("=<marker>"): a marker inside its markup, as text
            following = text[match.end(): match.end() + len(self.literal_after)]
            # A URL in a form field (the language switch's "next") carries it percent-encoded.
            encoded = unquote_plus(text[match.end(): match.end() + 3 * len(self.literal_after)])
            if following != self.literal_after and not encoded.startswith(self.literal_after) and not (
                    self.literal_after.startswith(following) and match.end() + len(following) == len(text)):
                self.problems.append(f"{where}: {match.group(0)} is followed by {following!r}, not the typed "
                                     f"{self.literal_after!r} (evaluated as a template or format string?)")

    def handle_starttag(self, tag, attrs):
        if self.marker.search(tag):
            self.problems.append(f"a tag named {tag!r}")
        for name, value in attrs:
            if self.marker.search(name):
                self.problems.append(f"<{tag}> has an attribute named {name!r}")
            if value is None or not self.marker.search(value):
                continue
            name = name.lower()
            if name in INERT_ATTRIBUTES or name.startswith(INERT_PREFIXES):
                self._text(f"<{tag} {name}>", value)
            elif name in URL_ATTRIBUTES and _query_only(value, self.marker):
                pass
            else:
                self.problems.append(f"<{tag}> attribute {name}={value[:120]!r} holds the marker")
        if tag in RAW_TEXT:
            self.raw.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in RAW_TEXT and self.raw:
            self.raw.pop()

    def handle_endtag(self, tag):
        if self.raw and self.raw[-1] == tag:
            self.raw.pop()

    def handle_data(self, data):
        if self.raw and self.marker.search(data):
            self.problems.append(f"inside <{self.raw[-1]}>: {data[:120]!r}")
        else:
            self._text("text", data)

    def handle_comment(self, data):
        if self.marker.search(data):
            self.problems.append(f"inside a comment: {data[:120]!r}")

    def handle_decl(self, decl):
        if self.marker.search(decl):
            self.problems.append(f"inside a declaration: {decl[:120]!r}")

    def handle_pi(self, data):
        if self.marker.search(data):
            self.problems.append(f"inside a processing instruction: {data[:120]!r}")

    unknown_decl = handle_decl


def _query_only(value: str, marker: re.Pattern) -> bool:
    """A URL of this site whose marker sits, percent-encoded with the rest of the typed text,
    in its query string: a link carrying a search, inert."""
    if not value.startswith("/") or value.startswith("//") or "?" not in value:
        return False
    query_start = value.index("?")
    if any(m.start() < query_start for m in marker.finditer(value)):
        return False
    return re.fullmatch(r"[A-Za-z0-9/?&=%._~+:,;*!$'()@-]*", value) is not None


def taint_problems(html: str, marker: re.Pattern, literal_after: str = "") -> list[str]:
    """Every place in ``html`` where ``marker`` is anything but text: a tag, an attribute name, an
    attribute value that is not plain text (an htmx attribute, an event handler, a URL outside a
    query string, a style), script or style content, a comment. Where the marker shows as text
    after ``=`` (the payload's head) it must be followed by ``literal_after`` as typed (not evaluated
    as ``{{ }}`` or ``%()s``)."""
    reader = _TaintReader(marker, literal_after)
    reader.feed(html)
    reader.close()
    return reader.problems
