"""SMTP delivery of one message at a time: STARTTLS (verified), implicit TLS, or plain for a local relay;
login with a password or with an OAuth access token (XOAUTH2, as Microsoft 365 requires); temporary failures
retried with a bounded backoff, permanent ones reported at once.

What is a *configuration* problem (certificate not trusted, login refused, no STARTTLS) cannot be fixed by
trying again and stops the send with a `CporError` (exit 3). Everything else is per message. A message whose
end went to the server without a reply coming back (timeout, dropped connection) is never retried: the
server may have kept it (`DeliveryUnknown`).
"""

from __future__ import annotations

import base64
import contextlib
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cpor_excel.errors import CporError

Security = Literal["starttls", "ssl", "plain"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "plain": 25}
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int | None = None  # None: 587 for STARTTLS, 465 for SSL, 25 for plain
    security: Security = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None  # trust this CA (PEM) instead of the system's, e.g. an internal relay
    timeout: float = 30.0
    #: log in with XOAUTH2 as ``user`` with this OAuth access token instead of a password
    access_token: str | None = field(default=None, repr=False)
    #: what to do when the server refuses the token (how to sign in again), from whoever got it
    token_advice: str = ""
    #: a fresh access token for each later login (reconnecting after a failure), when the token can expire
    renew_token: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.effective_port}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often a temporary failure is retried: ``attempts`` tries in all, waiting ``first_delay``
    seconds, then twice as long each time, never more than ``max_delay``."""

    attempts: int = 4
    first_delay: float = 2.0
    max_delay: float = 30.0

    def delay(self, retry: int) -> float:
        return float(min(self.first_delay * (2 ** (retry - 1)), self.max_delay))


class DeliveryFailed(Exception):
    """The message certainly reached no recipient. ``permanent``: the server refused it (5xx), retrying
    will not help; ``unreachable``: no connection could be made, so later messages would fail the same way."""

    def __init__(self, reason: str, *, permanent: bool, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.unreachable = unreachable


class DeliveryUnknown(Exception):
    """The whole message went to the server, which never answered (timeout, connection lost): it may have
    been delivered. Never retried."""


class _Temporary(Exception):
    """A failure before the server could have taken the message; worth another try."""


class SmtpTransport:
    """One SMTP connection, opened on first use, reused for every message, reopened after a failure."""

    def __init__(
        self,
        settings: SmtpSettings,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if (
            settings.security == "plain"
            and (settings.user or settings.access_token)
            and (settings.host not in LOOPBACK_HOSTS)
        ):
            raise CporError(
                f"--plain would send the credentials of {settings.user} unencrypted to {settings.host}; "
                "use --starttls or --ssl (plain is for a local relay)."
            )
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self._conn: smtplib.SMTP | None = None
        self._token = settings.access_token
        self._logins = 0

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def connect(self) -> None:
        """Open the connection (and log in) now: a wrong server or login stops a send before it starts.
        Raises CporError, or DeliveryFailed(unreachable) after the retries."""
        reason = ""
        for attempt in range(max(self.retry.attempts, 1)):
            if attempt:
                self.sleep(self.retry.delay(attempt))
            try:
                self._connection()
                return
            except (smtplib.SMTPException, OSError) as err:
                reason = f"cannot connect to {self.settings.address}: {_describe(err)}"
        tries = max(self.retry.attempts, 1)
        raise DeliveryFailed(f"{reason} (tried {tries} times)", permanent=False, unreachable=True)

    def deliver(self, data: bytes, sender: str, recipients: Sequence[str]) -> dict[str, str]:
        """Send the message ``data`` (CRLF line ends) to ``recipients``; returns the recipients the server
        refused while accepting it for others (address -> reply). Temporary failures before the server
        could have kept the message are retried. Raises ``DeliveryFailed`` (certainly not delivered),
        ``DeliveryUnknown`` (maybe delivered: the caller must not send it again) or, for a configuration
        problem, CporError."""
        reason = ""
        unreachable = False
        for attempt in range(max(self.retry.attempts, 1)):
            if attempt:
                self.sleep(self.retry.delay(attempt))
            try:
                conn = self._connection()
            except (smtplib.SMTPException, OSError) as err:
                reason, unreachable = f"cannot connect to {self.settings.address}: {_describe(err)}", True
                continue
            unreachable = False
            try:
                return _transaction(conn, data, sender, recipients)
            except _Temporary as err:
                reason = str(err)
            except DeliveryUnknown:
                self._drop()
                raise
            self._drop()
        tries = max(self.retry.attempts, 1)
        raise DeliveryFailed(f"{reason} (tried {tries} times)", permanent=False, unreachable=unreachable)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connection(self) -> smtplib.SMTP:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = tls_context(s.ca_file) if s.security != "plain" else None
        # an explicit EHLO name: the default asks DNS for this machine's FQDN, which stalls without DNS
        local = socket.gethostname() or "localhost"
        conn: smtplib.SMTP
        try:
            if s.security == "ssl":
                conn = smtplib.SMTP_SSL(
                    s.host, s.effective_port, local_hostname=local, timeout=s.timeout, context=context
                )
            else:
                conn = smtplib.SMTP(s.host, s.effective_port, local_hostname=local, timeout=s.timeout)
        except ssl.SSLError as err:
            raise self._tls_problem(err) from None
        try:
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise CporError(
                        f"{s.address} does not offer STARTTLS; use --ssl (usually port 465), or --plain "
                        "for a local relay."
                    )
                conn.starttls(context=context)
                conn.ehlo()
            if s.access_token:
                if self._logins and s.renew_token is not None:  # a reconnect, maybe past the token's life
                    self._token = s.renew_token()
                _xoauth2(conn, s.user or "", self._token or "")
                self._logins += 1
            elif s.user:
                _login(conn, s.user, s.password or "")
        except ssl.SSLError as err:
            conn.close()
            raise self._tls_problem(err) from None
        except smtplib.SMTPAuthenticationError as err:
            conn.close()
            reply = _reply(err.smtp_code, err.smtp_error)
            if s.access_token:
                raise CporError(
                    f"{s.address} refused the access token for {s.user} ({reply}). {s.token_advice}".strip()
                ) from None
            raise CporError(
                f"{s.address} refused the login for {s.user} ({reply}); "
                "check --user and the CPOR_SMTP_PASSWORD environment variable."
            ) from None
        except smtplib.SMTPNotSupportedError as err:
            conn.close()
            raise CporError(
                f"{s.address} cannot log in {s.user}: {err}; check the server settings."
            ) from None
        except smtplib.SMTPException as err:
            conn.close()
            if s.user and "authentication" in str(err).lower():
                raise CporError(f"{s.address} offers no login method for {s.user} ({err}).") from None
            raise
        except BaseException:
            conn.close()
            raise
        return conn

    def _tls_problem(self, err: ssl.SSLError) -> CporError:
        s = self.settings
        if isinstance(err, ssl.SSLCertVerificationError):
            return CporError(
                f"The certificate of {s.address} is not trusted ({err.verify_message}); fix the server's "
                "certificate, or trust its CA with --ca-file."
            )
        return CporError(
            f"TLS with {s.address} failed ({err.reason or err}); check the port and --starttls / --ssl."
        )


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib.login encodes credentials as ASCII and fails on "pässword"; AUTH PLAIN (RFC 4616) carries
    UTF-8, so non-ASCII credentials go that way."""
    if (user + password).isascii():
        conn.login(user, password)
        return
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH")
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = conn.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificates verified against the system's CAs, or the CAs of ``ca_file`` (PEM)."""
    if ca_file is not None and not Path(ca_file).is_file():
        raise CporError(f"CA file {ca_file} does not exist; give a PEM file with --ca-file.")
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    except ssl.SSLError as err:
        raise CporError(f"CA file {ca_file} is not a PEM certificate file ({err}).") from None


def _xoauth2(conn: smtplib.SMTP, user: str, token: str) -> None:
    """AUTH XOAUTH2 (Microsoft's and Google's SASL mechanism for OAuth 2.0 access tokens). A refused token
    gets a 334 challenge carrying the error; the empty answer to it makes the server send the 5xx."""
    offered = conn.esmtp_features.get("auth", "").upper().split() if conn.has_extn("auth") else []
    if "XOAUTH2" not in offered:
        raise smtplib.SMTPNotSupportedError(
            f"the server offers no XOAUTH2 login (AUTH {' '.join(offered) or 'not offered'})"
        )
    answers = iter([xoauth2_string(user, token)])
    conn.auth("XOAUTH2", lambda challenge=None: next(answers, ""), initial_response_ok=True)


def xoauth2_string(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response before base64: ``user=U^Aauth=Bearer T^A^A``."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def _transaction(conn: smtplib.SMTP, data: bytes, sender: str, recipients: Sequence[str]) -> dict[str, str]:
    """MAIL, RCPT and DATA on an open connection, telling apart failures *before* the end of the message
    (the server cannot have kept it: ``_Temporary`` or DeliveryFailed) from a lost reply *after* it
    (DeliveryUnknown). smtplib's ``sendmail`` sends the message and reads the reply in one call, so it
    cannot tell them apart."""
    try:
        code, reply = conn.mail(sender)
        if code != 250:
            _refused(conn, code, reply)
        refused: dict[str, str] = {}
        codes = []
        for recipient in recipients:
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = _reply(code, reply)
                codes.append(code)
        if len(refused) == len(recipients):
            _reset(conn)
            reason = "; ".join(f"{addr}: {why}" for addr, why in refused.items())
            if all(code >= 500 for code in codes):
                raise DeliveryFailed(reason, permanent=True)
            raise _Temporary(reason)
        code, reply = conn.docmd("DATA")
        if code != 354:
            _refused(conn, code, reply)
        conn.send(_dot_stuffed(data))
    except smtplib.SMTPResponseException as err:  # e.g. 421 from MAIL
        raise _Temporary(_reply(err.smtp_code, err.smtp_error)) from None
    except (smtplib.SMTPException, OSError) as err:  # dropped connection, timeout
        raise _Temporary(_describe(err)) from None
    try:
        code, reply = conn.getreply()
    except (smtplib.SMTPException, OSError) as err:
        raise DeliveryUnknown(_describe(err)) from None
    if code != 250:
        if code >= 500:
            raise DeliveryFailed(_reply(code, reply), permanent=True)
        raise _Temporary(_reply(code, reply))
    return refused


def _refused(conn: smtplib.SMTP, code: int, reply: bytes) -> None:
    _reset(conn)
    if code >= 500:
        raise DeliveryFailed(_reply(code, reply), permanent=True)
    raise _Temporary(_reply(code, reply))


def _reset(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        conn.rset()


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA sends it: a line starting with "." gets another, then the end mark."""
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def _describe(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPResponseException):
        return _reply(err.smtp_code, err.smtp_error)
    if isinstance(err, TimeoutError | socket.timeout) or "timed out" in str(err):
        return "timed out waiting for the server"
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return str(text)
