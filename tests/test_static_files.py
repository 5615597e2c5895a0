"""Static files: versioned names cached for good, brotli/gzip copies served only while they are
copies of the file as it is now, security headers on every file (kiosk/static_files.py)."""

from __future__ import annotations

import brotli
import gzip
import os
import re
import shutil
from pathlib import Path

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from kiosk.static_files import StaticFiles, compress, content_hash, fresh_copy, sources, versioned_name
from kiosk.web import CSP

ROOT = Path(__file__).resolve().parent.parent
IMMUTABLE = "max-age=315360000, public, immutable"


def test_versioned_name_puts_the_hash_before_the_suffix():
    assert versioned_name("js/kiosk.js", "abc123") == "js/kiosk.abc123.js"
    assert versioned_name("vendor/htmx-2.0.11.min.js", "abc123") == "vendor/htmx-2.0.11.min.abc123.js"
    assert versioned_name("LICENSE", "abc123") == "LICENSE.abc123"


def test_the_hash_follows_the_bytes(tmp_path):
    path = tmp_path / "a.js"
    path.write_text("one")
    first = content_hash(path)
    path.write_text("two")
    os.utime(path, ns=(1, 2))  # another mtime: the cache key changes with the file
    assert content_hash(path) != first and len(first) == 12


@pytest.fixture
def folder(tmp_path) -> Path:
    """A copy of some of static/, compressed as ``make static`` does."""
    out = tmp_path / "static"
    for name in ("css/kiosk.css", "js/scanner.js", "img/logo.svg", "audio/success.wav"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "static" / name, out / name)
    (out / "img" / "photo.png").write_bytes(b"\x89PNG" + b"\0" * 4000)
    counts = compress(out, quiet=True)
    assert counts["written"] == 4 and counts["skipped"] == 1  # the PNG is not worth it
    assert compress(out, quiet=True)["fresh"] == 4  # a second build compresses nothing again
    return out


def serve(folder: Path) -> Client:
    versioned = {p.relative_to(folder).as_posix(): versioned_name(p.relative_to(folder).as_posix(), content_hash(p))
                 for p in sources(folder)}
    app = StaticFiles(Response("not a static file", 404), folder, versioned, {"X-Content-Type-Options": "nosniff"})
    client = Client(app)
    client.versioned = versioned
    plain_open = client.open
    client.open = lambda *args, **kwargs: plain_open(*args, buffered=True, **kwargs)  # files closed
    return client


def test_compressed_copies_are_served_to_browsers_that_take_them(folder):
    client = serve(folder)
    source = (folder / "css/kiosk.css").read_bytes()
    url = "/static/" + client.versioned["css/kiosk.css"]
    br = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br" and brotli.decompress(br.data) == source
    assert br.headers["Vary"] == "Accept-Encoding"
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == source
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers and plain.data == source
    assert len(br.data) < len(gz.data) < len(source) / 3


def test_a_file_changed_after_the_build_is_served_whole_never_as_the_old_copy(folder):
    path = folder / "js/scanner.js"
    path.write_bytes(path.read_bytes() + b"\n// changed\n")
    assert fresh_copy(path, ".br") is None and fresh_copy(folder / "css/kiosk.css", ".br") is not None
    client = serve(folder)
    answer = client.get("/static/js/scanner.js", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in answer.headers
    assert answer.data.endswith(b"// changed\n")
    assert compress(folder, quiet=True)["written"] == 1  # the next build redoes that one only
    assert serve(folder).get("/static/js/scanner.js", headers={"Accept-Encoding": "br"}).headers["Content-Encoding"] == "br"


def test_copies_of_removed_files_are_removed(folder):
    (folder / "img/logo.svg").unlink()
    assert compress(folder, quiet=True)["removed"] == 2
    assert not list(folder.glob("img/logo.svg.*"))


def test_versioned_names_are_cached_for_good_plain_names_revalidated(folder):
    client = serve(folder)
    versioned = client.get("/static/" + client.versioned["img/logo.svg"])
    assert versioned.status_code == 200 and versioned.headers["Cache-Control"] == IMMUTABLE
    assert versioned.headers["X-Content-Type-Options"] == "nosniff"
    assert "Access-Control-Allow-Origin" not in versioned.headers
    plain = client.get("/static/img/logo.svg")
    assert plain.headers["Cache-Control"] == "max-age=0, public" and plain.headers["ETag"]
    again = client.get("/static/img/logo.svg", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/static/audio/success.wav").headers["Content-Type"] == "audio/wav"
    assert client.get("/static/img/other.svg").status_code == 404  # not ours: on to the app


def test_every_file_the_kiosk_page_loads_is_versioned_and_cached_for_good(client, app):
    from kiosk.terminal import pairing

    _device, code = pairing.add_device("Kios uji", "check", None, staff=None)
    assert client.post("/kiosk/pasang", data={"code": code}).status_code == 303
    page = client.get("/kiosk/").get_data(as_text=True)
    urls = sorted(set(re.findall(r'"(/static/[^"]+)"', page)))
    assert any(u.endswith(".js") for u in urls) and any(u.endswith(".wav") for u in urls), urls
    for url in urls:
        name = url.removeprefix("/static/")
        assert name in app.extensions["static_versions"].values(), url
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["Cache-Control"] == IMMUTABLE, url
        assert answer.headers["Content-Security-Policy"] == CSP
        answer.close()
    # The decoder files are loaded by relative URL from scanner.js: their plain, versioned-by-
    # name paths are cached for good as well.
    for name in ("vendor/zxing_reader-3.1.3.wasm", "vendor/barcode-detector-3.2.2.ponyfill.min.js"):
        answer = client.get("/static/" + name)
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == IMMUTABLE, name
        answer.close()
