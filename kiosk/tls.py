"""HTTPS for the office LAN: the kiosk's camera needs a secure context, and
``http://192.168.x.y`` is not one. This makes a small certificate authority of the office's own
(``<secrets>/tls/ca.crt``, installed once on each kiosk tablet; ``<secrets>`` is
``KIOSK_SECRETS_DIR``, default the instance folder) and a server certificate signed by
it for this machine's host names and IP addresses (``server.crt`` / ``server.key``, given to
gunicorn). When the server's address changes, only the server certificate is made again; the
tablets keep trusting the CA.

Made with the ``openssl`` command (Debian's ``openssl`` package), so no Python crypto package is
needed.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .private_files import private_dir, replace_file, tighten

CA_DAYS = 3650
# Browsers cap publicly trusted server certificates at 398 days; staying under it costs nothing.
SERVER_DAYS = 397


class TlsError(RuntimeError):
    """The certificate could not be made (no openssl, or it failed)."""


@dataclass(frozen=True)
class TlsFiles:
    """Where the certificate files are."""

    folder: Path
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def tls_folder(secrets_dir: str | os.PathLike) -> Path:
    """``<secrets>/tls/``: with the other secrets, so several servers can share one office CA
    (and one certificate naming them all)."""
    return Path(secrets_dir) / "tls"


def files(secrets_dir: str | os.PathLike) -> TlsFiles:
    """The file names inside ``<secrets>/tls/`` (whether or not they exist yet)."""
    folder = tls_folder(secrets_dir)
    return TlsFiles(folder, folder / "ca.crt", folder / "ca.key", folder / "server.crt", folder / "server.key")


def ca_certificate_path(secrets_dir: str | os.PathLike) -> Path | None:
    """The CA certificate to install on the tablets, or ``None`` before ``make-cert`` ran."""
    path = files(secrets_dir).ca_cert
    return path if path.is_file() else None


def local_names() -> list[str]:
    """This machine's host names: ``localhost``, the host name and its ``.local`` (mDNS) form."""
    host = socket.gethostname().strip()
    names = ["localhost"]
    if host and host != "localhost":
        names += [host, f"{host}.local"] if "." not in host else [host]
    return names


def local_addresses() -> list[str]:
    """This machine's IP addresses that a LAN client could use (loopback included, link-local
    left out)."""
    found: list[str] = ["127.0.0.1", "::1"]
    candidates: list[str] = []
    try:
        candidates += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)]
    except OSError:
        pass
    # The address of the interface a packet to the LAN would leave by (no packet is sent).
    for family, target in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                candidates.append(probe.getsockname()[0])
        except OSError:
            pass
    if shutil.which("hostname"):
        try:
            out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
            candidates += out.split()
        except (OSError, subprocess.SubprocessError):
            pass
    for raw in candidates:
        try:
            address = ipaddress.ip_address(raw.split("%")[0])
        except ValueError:
            continue
        if address.is_link_local or address.is_unspecified or address.is_multicast:
            continue
        if str(address) not in found:
            found.append(str(address))
    return found


def _openssl(*args: str, cwd: Path) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise TlsError("the openssl command is missing (apt-get install openssl)")
    done = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise TlsError(f"openssl {args[0]} failed: {done.stderr.strip()[-500:]}")


def _private(path: Path) -> None:
    os.chmod(path, 0o600)


def subject_alt_names(names: list[str], addresses: list[str]) -> str:
    """The subjectAltName value: ``DNS:…`` for names, ``IP:…`` for addresses (validated)."""
    entries = [f"DNS:{name}" for name in dict.fromkeys(names) if name]
    for raw in dict.fromkeys(addresses):
        entries.append(f"IP:{ipaddress.ip_address(raw)}")
    if not entries:
        raise TlsError("a certificate needs at least one name or address")
    return ",".join(entries)


def make_certificate(
    secrets_dir: str | os.PathLike,
    names: list[str] | None = None,
    addresses: list[str] | None = None,
    *,
    new_ca: bool = False,
) -> TlsFiles:
    """Make (or remake) the server certificate for ``names`` and ``addresses`` (default: this
    machine's), signed by the office CA, which is made first if missing (or if ``new_ca``)."""
    paths = files(secrets_dir)
    private_dir(paths.folder)
    names = names if names is not None else local_names()
    addresses = addresses if addresses is not None else local_addresses()
    san = subject_alt_names(names, addresses)
    host = socket.gethostname() or "kiosk"
    if new_ca or not (paths.ca_cert.is_file() and paths.ca_key.is_file()):
        _openssl(
            "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(paths.ca_key), "-out", str(paths.ca_cert), "-days", str(CA_DAYS),
            "-sha256", "-subj", f"/O=Kiosk BPU/CN=Kiosk BPU CA ({host})",
            "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash",
            cwd=paths.folder,
        )
        _private(paths.ca_key)
    with tempfile.TemporaryDirectory(dir=paths.folder) as work:
        work_dir = Path(work)
        csr, ext = work_dir / "server.csr", work_dir / "server.ext"
        key = work_dir / "server.key"
        ext.write_text(
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            f"subjectAltName={san}\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid\n"
        )
        _openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", f"/O=Kiosk BPU/CN={host}",
            cwd=work_dir,
        )
        cert = work_dir / "server.crt"
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(paths.ca_cert), "-CAkey", str(paths.ca_key),
            "-CAcreateserial", "-CAserial", str(paths.folder / "ca.srl"), "-out", str(cert),
            "-days", str(SERVER_DAYS), "-sha256", "-extfile", str(ext),
            cwd=work_dir,
        )
        _private(key)
        replace_file(key, paths.key)
        replace_file(cert, paths.cert)
    tighten(paths.folder)  # the certificates too: everything in the secrets folder is 0600
    return paths


def describe(cert: Path) -> str:
    """``openssl x509 -noout -subject -enddate -ext subjectAltName`` of a certificate."""
    binary = shutil.which("openssl")
    if binary is None:
        raise TlsError("the openssl command is missing")
    done = subprocess.run(
        [binary, "x509", "-in", str(cert), "-noout", "-subject", "-enddate", "-ext", "subjectAltName"],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise TlsError(done.stderr.strip())
    return done.stdout.strip()
