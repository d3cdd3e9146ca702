"""IMAP: put a message into a mailbox's Drafts folder (APPEND, flagged ``\\Draft``), over implicit TLS
(default, port 993), STARTTLS (143) or plain for a local server; login with a password or an OAuth access
token (XOAUTH2, as Microsoft 365 requires).

The Drafts folder is the one the server flags ``\\Drafts`` in its LIST answer (RFC 6154 special use; Exchange
Online and Dovecot do), else the one named Drafts. As with SMTP, a connection lost after the whole message
went out is ``DeliveryUnknown`` (the server may have stored it), never retried.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cpor_excel.errors import CporError
from cpor_excel.mail.smtp import LOOPBACK_HOSTS, DeliveryFailed, DeliveryUnknown, tls_context, xoauth2_string

Security = Literal["ssl", "starttls", "plain"]
DEFAULT_PORTS: dict[str, int] = {"ssl": 993, "starttls": 143, "plain": 143}
DRAFT_FLAG = "(\\Draft)"
#: one LIST answer: (attributes) delimiter name, the name quoted or an atom
_LIST_LINE = re.compile(rb'^\((?P<attributes>[^)]*)\)\s+(?:"(?:[^"\\]|\\.)*"|NIL)\s+(?P<name>.+)$', re.I)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int | None = None  # None: 993 for SSL, 143 for STARTTLS and plain
    security: Security = "ssl"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    timeout: float = 30.0
    access_token: str | None = field(default=None, repr=False)
    token_advice: str = ""

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.effective_port}"


class _Imap(imaplib.IMAP4):
    """Notes whether the last thing written was the end of an APPEND's literal (its closing CRLF): a
    connection lost after it may have left the message stored."""

    sent_all = False

    def send(self, data: bytes) -> None:  # type: ignore[override]
        super().send(data)
        self.sent_all = data == b"\r\n"


class _ImapSsl(imaplib.IMAP4_SSL):
    sent_all = False

    def send(self, data: bytes) -> None:  # type: ignore[override]
        super().send(data)
        self.sent_all = data == b"\r\n"


class MailboxTransport:
    """One IMAP connection to one mailbox: ``connect`` logs in and finds the Drafts folder."""

    def __init__(self, settings: ImapSettings) -> None:
        if settings.security == "plain" and settings.host not in LOOPBACK_HOSTS:
            raise CporError(
                f"--plain would send the credentials of {settings.user} unencrypted to {settings.host}; "
                "use --ssl or --starttls (plain is for a local server)."
            )
        self.settings = settings
        self.folder = ""  # the Drafts folder's name as the server lists it
        self._conn: _Imap | _ImapSsl | None = None

    @property
    def where(self) -> str:
        return f"{self.folder} of {self.settings.user}@{self.settings.host}"

    def connect(self) -> None:
        """Open, secure, log in, find the Drafts folder. CporError for a configuration problem (exit 3),
        DeliveryFailed(unreachable) when the server cannot be reached."""
        s = self.settings
        context = tls_context(s.ca_file) if s.security != "plain" else None
        try:
            if s.security == "ssl":
                conn: _Imap | _ImapSsl = _ImapSsl(
                    s.host, s.effective_port, ssl_context=context, timeout=s.timeout
                )
            else:
                conn = _Imap(s.host, s.effective_port, timeout=s.timeout)
        except ssl.SSLError as err:
            raise _tls_problem(s, err) from None
        except (OSError, imaplib.IMAP4.error) as err:
            raise DeliveryFailed(
                f"cannot connect to {s.address}: {_describe(err)}", permanent=False, unreachable=True
            ) from None
        self._conn = conn
        try:
            if s.security == "starttls":
                if "STARTTLS" not in conn.capabilities:
                    raise CporError(f"{s.address} does not offer STARTTLS; use --ssl (usually port 993).")
                conn.starttls(ssl_context=context)
            self._login(conn)
            self.folder = _drafts_folder(conn, s)
        except ssl.SSLError as err:
            self.close()
            raise _tls_problem(s, err) from None
        except (OSError, imaplib.IMAP4.abort) as err:
            self.close()
            raise DeliveryFailed(
                f"{s.address} closed the connection: {_describe(err)}", permanent=False, unreachable=True
            ) from None
        except BaseException:
            self.close()
            raise

    def append(self, data: bytes) -> None:
        """Store ``data`` in the Drafts folder, flagged \\Draft. DeliveryFailed when the server refused it
        (or the connection broke before the whole message went out), DeliveryUnknown when the answer was lost."""
        conn = self._conn
        assert conn is not None, "connect first"
        conn.sent_all = False
        try:
            kind, reply = conn.append(_quoted(self.folder), DRAFT_FLAG, None, data)
        except imaplib.IMAP4.abort as err:
            self._drop()
            if conn.sent_all:
                raise DeliveryUnknown(_describe(err)) from None
            raise DeliveryFailed(_describe(err), permanent=False) from None
        except (OSError, imaplib.IMAP4.error) as err:  # a NO or BAD answer, or a broken socket
            if isinstance(err, OSError):
                self._drop()
                if conn.sent_all:
                    raise DeliveryUnknown(_describe(err)) from None
            raise DeliveryFailed(_describe(err), permanent=not isinstance(err, OSError)) from None
        if kind != "OK":
            raise DeliveryFailed(_text(reply), permanent=True)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            with contextlib.suppress(OSError):
                conn.shutdown()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.shutdown()

    def _login(self, conn: imaplib.IMAP4) -> None:
        s = self.settings
        try:
            if s.access_token:
                if "AUTH=XOAUTH2" not in conn.capabilities:
                    raise CporError(
                        f"{s.address} offers no XOAUTH2 login; drop --oauth to log in with a password."
                    )
                answers = iter([xoauth2_string(s.user or "", s.access_token).encode()])
                conn.authenticate("XOAUTH2", lambda challenge: next(answers, b""))
            elif (s.user or "").isascii() and (s.password or "").isascii():
                conn.login(s.user or "", s.password or "")
            else:  # LOGIN is ASCII only; AUTHENTICATE PLAIN (RFC 4616) carries UTF-8
                blob = f"\0{s.user}\0{s.password}".encode()
                conn.authenticate("PLAIN", lambda challenge: blob)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as err:
            if s.access_token:
                raise CporError(
                    f"{s.address} refused the access token for {s.user} ({_describe(err)}). {s.token_advice}".strip()
                ) from None
            raise CporError(
                f"{s.address} refused the login for {s.user} ({_describe(err)}); check --user and the "
                "CPOR_IMAP_PASSWORD environment variable."
            ) from None


def _drafts_folder(conn: imaplib.IMAP4, s: ImapSettings) -> str:
    """The folder flagged \\Drafts, else the one named Drafts; CporError when there is neither."""
    kind, lines = conn.list()
    if kind != "OK":
        raise CporError(f"{s.address} would not list the mailbox's folders ({_text(lines)}).")
    named = ""
    for line in lines:
        if isinstance(line, tuple):  # a name sent as a literal: (b'(\\Drafts) "/" {6}', b'Drafts')
            head, name = line[0], line[1]
            match = _LIST_LINE.match(re.sub(rb"\{\d+\}$", b'"x"', bytes(head)))
            folder = _as_literal(bytes(name))
        else:
            if not isinstance(line, bytes):
                continue
            match = _LIST_LINE.match(line)
            folder = match.group("name").decode("utf-8", "replace") if match else ""
        if not match:
            continue
        attributes = match.group("attributes").decode("ascii", "replace").lower().split()
        if "\\drafts" in attributes:
            return folder
        if _unquoted(folder).lower() == "drafts" and "\\noselect" not in attributes:
            named = folder
    if named:
        return named
    raise CporError(
        f"The mailbox {s.user} on {s.address} has no Drafts folder (none flagged \\Drafts or named Drafts); "
        "create one in your mail program, then run again."
    )


def _quoted(folder: str) -> str:
    """A folder name as APPEND takes it: as the server listed it (quoted or an atom)."""
    return folder if folder.startswith('"') else f'"{folder}"'


def _as_literal(name: bytes) -> str:
    text = name.decode("utf-8", "replace")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquoted(folder: str) -> str:
    if len(folder) >= 2 and folder[0] == folder[-1] == '"':
        return re.sub(r"\\(.)", r"\1", folder[1:-1])
    return folder


def _tls_problem(s: ImapSettings, err: ssl.SSLError) -> CporError:
    if isinstance(err, ssl.SSLCertVerificationError):
        return CporError(
            f"The certificate of {s.address} is not trusted ({err.verify_message}); fix the server's "
            "certificate, or trust its CA with --ca-file."
        )
    return CporError(
        f"TLS with {s.address} failed ({err.reason or err}); check the port and --ssl / --starttls."
    )


def _text(reply: Any) -> str:
    parts = reply if isinstance(reply, list) else [reply]
    return " ".join(p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in parts if p)


def _describe(err: BaseException) -> str:
    if isinstance(err, TimeoutError | socket.timeout) or "timed out" in str(err):
        return "timed out waiting for the server"
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return " ".join(str(text).split())
