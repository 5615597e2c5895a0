"""Static files (``static/``), served by WhiteNoise in front of Flask: compressed, and cached
for as long as their name stays true.

- **Versioned names.** ``url_for("static", filename="js/kiosk.js")`` gives
  ``/static/js/kiosk.<hash>.js``, the hash of the file's bytes read when the app starts; such a
  URL never changes meaning, so it is cached for good (``immutable``): a kiosk's next load asks
  for none of its files again. The vendored files carry their version in their own name
  (``vendor/htmx-2.0.11.min.js``, and the decoder files that ``static/js/scanner.js`` loads by
  relative URL), so their plain names are immutable too. Any other plain name is revalidated
  (``max-age=0`` with an ETag).
- **Compressed copies.** ``python -m kiosk.static_files`` (``make static``, run by ``make run``,
  ``make test``, ``make bench`` and ``make vendor``) writes ``<file>.br`` (brotli 11) and
  ``<file>.gz`` (gzip 9) beside each file. They are build output, not committed (.gitignore):
  they would go stale the moment someone edits a script. A copy counts only while its mtime
  equals its source's (the build copies it over), so an edited file is served whole, never as
  an old compressed copy, until the next build. WhiteNoise picks the smallest copy the browser
  accepts (``Vary: Accept-Encoding``).

Static answers never reach Flask (no session, no request log); they get the security headers
that matter for a file (``X-Content-Type-Options``, the CSP) from here.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import logging
import os
import sys
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.responders import StaticFile
from wsgiref.headers import Headers

from .private_files import replace_file

log = logging.getLogger("kiosk.static")

PREFIX = "/static/"
VENDOR = "vendor/"
HASH_CHARS = 12
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
# Already compressed: a second compression only costs time.
NOT_COMPRESSED = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".br", ".gz", ".zip")
MIN_GAIN = 0.95  # keep a compressed copy only when it is at most 95 % of the file

# (path, size, mtime_ns) -> short hash: tests make hundreds of apps, each reads static/ once.
_hash_cache: dict[tuple[str, int, int], str] = {}


def sources(folder: Path) -> list[Path]:
    """Every file under ``folder`` that is served (not a compressed copy, not hidden)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.suffix == ".tmp":
            continue
        if path.suffix in (".br", ".gz") and path.with_suffix("").is_file():
            continue
        found.append(path)
    return found


def content_hash(path: Path) -> str:
    """The first ``HASH_CHARS`` hex digits of the file's SHA-256 (cached per size and mtime)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    found = _hash_cache.get(key)
    if found is None:
        found = _hash_cache[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_CHARS]
    return found


def versioned_name(name: str, digest: str) -> str:
    """``js/kiosk.js`` -> ``js/kiosk.<digest>.js`` (the hash before the last suffix)."""
    head, dot, ext = name.rpartition(".")
    if not dot or "/" in ext:
        return f"{name}.{digest}"
    return f"{head}.{digest}.{ext}"


def fresh_copy(source: Path, suffix: str) -> Path | None:
    """The compressed copy ``source + suffix`` if it was built from this very file (same mtime)."""
    copy = source.with_name(source.name + suffix)
    try:
        return copy if copy.stat().st_mtime_ns == source.stat().st_mtime_ns else None
    except OSError:
        return None


def compress(folder: Path, *, quiet: bool = False) -> dict[str, int]:
    """Write the missing or stale ``.br``/``.gz`` copies of every file under ``folder``; remove
    copies whose source is gone. Returns counts: written, fresh, skipped, removed."""
    import brotli

    counts = {"written": 0, "fresh": 0, "skipped": 0, "removed": 0}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".br", ".gz") and not path.with_suffix("").exists():
            path.unlink()
            counts["removed"] += 1
    for source in sources(folder):
        if source.suffix.lower() in NOT_COMPRESSED:
            counts["skipped"] += 1
            continue
        copies = [source.with_name(source.name + suffix) for _enc, suffix in ENCODINGS]
        present = [copy for copy in copies if copy.exists()]
        if present and all(fresh_copy(source, copy.suffix) for copy in present):
            counts["fresh"] += 1
            continue
        data = source.read_bytes()
        stat = source.stat()
        wrote = False
        for encoding, suffix in ENCODINGS:
            copy = source.with_name(source.name + suffix)
            packed = brotli.compress(data, quality=11) if encoding == "br" else gzip.compress(data, 9, mtime=0)
            if not data or len(packed) > len(data) * MIN_GAIN:
                copy.unlink(missing_ok=True)
                continue
            partial = copy.with_name(copy.name + ".tmp")
            with open(partial, "wb") as fh:
                fh.write(packed)
                fh.flush()
                os.fsync(fh.fileno())  # never an empty .br/.gz served for a script after a power cut
            os.utime(partial, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            replace_file(partial, copy)
            wrote = True
            if not quiet:
                print(f"static: {copy.relative_to(folder)} {len(data):,} -> {len(packed):,} bytes")
        counts["written" if wrote else "skipped"] += 1
    return counts


class StaticFiles(WhiteNoise):
    """WhiteNoise with the app's rules: versioned aliases, only fresh compressed copies, the
    security headers, no CORS (nothing outside this server loads our files)."""

    def __init__(self, application, folder: Path, versioned: dict[str, str], headers: dict[str, str]):
        self.extra_headers = headers
        self.versioned_urls = {PREFIX + alias for alias in versioned.values()}
        super().__init__(application, max_age=0, allow_all_origins=False, mimetypes={".wav": "audio/wav"})
        self.add_files(str(folder), PREFIX)
        for name, alias in versioned.items():
            self.add_file_to_dictionary(PREFIX + alias, str(folder / name))
        stale = [name for name in versioned if not (folder / name).name.endswith(NOT_COMPRESSED)
                 and fresh_copy(folder / name, ".br") is None]
        if stale:
            log.info("static: %d file(s) without an up-to-date compressed copy (served whole; "
                     "`make static` builds them): %s", len(stale), ", ".join(stale[:5]))

    def immutable_file_test(self, path: str, url: str) -> bool:
        return url in self.versioned_urls or url.startswith(PREFIX + VENDOR)

    def get_static_file(self, path, url, stat_cache=None):
        source = Path(path)
        headers = Headers([])
        self.add_mime_headers(headers, path, url)
        self.add_cache_headers(headers, path, url)
        for name, value in self.extra_headers.items():
            headers[name] = value
        encodings = {encoding: str(copy) for encoding, suffix in ENCODINGS
                     if (copy := fresh_copy(source, suffix)) is not None}
        return StaticFile(path, headers.items(), encodings=encodings)


def init_app(app: Flask) -> None:
    """Serve ``app.static_folder`` through WhiteNoise and make ``url_for("static", ...)`` give
    versioned names."""
    from .web import CSP

    folder = Path(app.static_folder)
    versioned = {
        path.relative_to(folder).as_posix(): versioned_name(path.relative_to(folder).as_posix(), content_hash(path))
        for path in sources(folder)
    }
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": CSP,
               "Referrer-Policy": "same-origin"}
    app.wsgi_app = StaticFiles(app.wsgi_app, folder, versioned, headers)
    app.extensions["static_versions"] = versioned

    @app.url_defaults
    def versioned_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = versioned.get(values["filename"], values["filename"])


def main(argv: list[str] | None = None) -> int:
    """Build the compressed copies of the static files (``make static``)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("folder", nargs="?", default=str(Path(__file__).resolve().parent.parent / "static"))
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    counts = compress(Path(args.folder), quiet=args.quiet)
    print(f"static: {counts['written']} compressed, {counts['fresh']} already up to date, "
          f"{counts['skipped']} not worth it, {counts['removed']} stale copies removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
