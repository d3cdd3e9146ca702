"""A real IMAP server for tests: Dovecot (Debian's dovecot-imapd) started with a configuration of its own on
free loopback ports: a passwd-file user, a maildir, a Drafts folder flagged \\Drafts (special use), STARTTLS and
implicit TLS with trustme certificates, and XOAUTH2 checked by Dovecot's oauth2 passdb against a small local
token introspection endpoint (the tokens a test puts in ``Dovecot.tokens``).

Dovecot's login processes refuse to run as root: run by root, the fixture uses Dovecot's own unprivileged
users (dovecot, dovenull) as the package sets them up, and the mail files belong to the dovecot user; run by
anyone else, everything runs as that user. Tests skip only when no dovecot binary can be found.
"""

from __future__ import annotations

import base64
import imaplib
import itertools
import json
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

HOST = "127.0.0.1"
USER, PASSWORD = "partner", "imap-pässword"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


@dataclass
class Dovecot:
    host: str
    port: int  # IMAP with STARTTLS offered (plain login allowed too, on loopback)
    ssl_port: int  # implicit TLS
    ca_file: Path
    drafts: str  # the Drafts folder's name as configured
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)  # XOAUTH2: access token -> user
    introspected: list[str] = field(default_factory=list)  # tokens Dovecot asked about

    def drafts_folder(self) -> list[tuple[str, bytes]]:
        """(flags, message) of each message in the Drafts folder, read over IMAP as a mail program would."""
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            conn.starttls(ssl.create_default_context(cafile=str(self.ca_file)))
            conn.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
            kind, count = conn.select(_mutf7(self.drafts), readonly=True)
            assert kind == "OK", kind
            if int(count[0] or 0) == 0:
                return []
            kind, data = conn.fetch("1:*", "(FLAGS BODY.PEEK[])")
            found = []
            for part in data:
                if isinstance(part, tuple):
                    flags = " ".join(
                        sorted(str(f, "ascii") for f in imaplib.ParseFlags(part[0]) if f != b"\\Recent")
                    )
                    found.append((flags, bytes(part[1])))
            return found
        finally:
            conn.logout()


def _mutf7(name: str) -> str:
    """An IMAP folder name in modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    for printable, run in itertools.groupby(name, key=lambda ch: 0x20 <= ord(ch) <= 0x7E):
        text = "".join(run)
        if printable:
            out.append(text.replace("&", "&-"))
        else:
            encoded = base64.b64encode(text.encode("utf-16-be")).decode("ascii").rstrip("=")
            out.append("&" + encoded.replace("/", ",") + "-")
    return '"' + "".join(out) + '"'


class _Introspection(BaseHTTPRequestHandler):
    server_state: Dovecot

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        token = form.get("token", [""])[0]
        self.server_state.introspected.append(token)
        user = self.server_state.tokens.get(token)
        body = json.dumps({"active": True, "username": user} if user else {"active": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _config(folder: Path, mail: Path, port: int, ssl_port: int, drafts: str) -> str:
    if os.geteuid() == 0:  # login processes must not run as root: the package's own users
        users = "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
        owner = "dovecot"
        services = "service auth {\n  user = root\n}\n"
    else:
        me = pwd.getpwuid(os.geteuid()).pw_name
        users = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
        owner = me
        services = "service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
    dh = "/usr/share/dovecot/dh.pem"
    return f"""
protocols = imap
listen = {HOST}
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
{users}first_valid_uid = 1
mail_uid = {owner}
mail_gid = {owner}
mail_location = maildir:{mail}/%u
ssl = yes
ssl_cert = <{folder}/cert.pem
ssl_key = <{folder}/key.pem
{"ssl_dh = <" + dh if os.path.exists(dh) else ""}
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login xoauth2
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {folder}/oauth2.conf.ext
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={owner} gid={owner} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {ssl_port}
    ssl = yes
  }}
}}
{services}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{drafts}" {{
    special_use = \\Drafts
    auto = create
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
"""


@pytest.fixture(name="dovecot")
def dovecot_fixture(tmp_path: Path, tls_ca: tuple[trustme.CA, Path]) -> Iterator[Callable[..., Dovecot]]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    started: list[tuple[subprocess.Popen[bytes], ThreadingHTTPServer, Path]] = []

    def start(drafts: str = "Drafts") -> Dovecot:
        ca, pem = tls_ca
        folder = tmp_path / f"dovecot{len(started)}"
        (folder / "run").mkdir(parents=True)
        (folder / "state").mkdir()
        mail = Path(tempfile.mkdtemp(prefix="cpor-maildir-"))
        if os.geteuid() == 0:
            shutil.chown(mail, "dovecot", "dovecot")
        cert = ca.issue_cert(HOST, "localhost")
        cert.private_key_pem.write_to_path(str(folder / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
        (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n", "utf-8")
        port, ssl_port = _free_port(), _free_port()
        state = Dovecot(HOST, port, ssl_port, pem, drafts, folder / "dovecot.log")
        handler = type("Introspection", (_Introspection,), {"server_state": state})
        web = ThreadingHTTPServer((HOST, 0), handler)
        threading.Thread(target=web.serve_forever, daemon=True).start()
        (folder / "oauth2.conf.ext").write_text(
            f"introspection_mode = post\nintrospection_url = http://{HOST}:{web.server_address[1]}/introspect\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n",
            "utf-8",
        )
        conf = folder / "dovecot.conf"
        conf.write_text(_config(folder, mail, port, ssl_port, drafts), "utf-8")
        process = subprocess.Popen(
            [binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        started.append((process, web, mail))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                log = state.log.read_text() if state.log.exists() else ""
                pytest.fail(f"dovecot did not start: {output} {log}")
            try:
                with (
                    socket.create_connection((HOST, ssl_port), timeout=0.5),
                    socket.create_connection((HOST, port), timeout=0.5) as probe,
                ):
                    if probe.recv(64).startswith(b"* OK"):
                        return state
            except OSError:
                time.sleep(0.1)
        pytest.fail("dovecot did not listen within 15 s")

    yield start
    for process, web, mail in started:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        web.shutdown()
        web.server_close()
        shutil.rmtree(mail, ignore_errors=True)
