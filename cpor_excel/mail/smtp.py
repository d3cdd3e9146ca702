"""SMTP delivery of one message at a time: STARTTLS (verified), implicit TLS, or plain for a local relay;
temporary failures retried with a bounded backoff, permanent ones reported at once.

What is a *configuration* problem (certificate not trusted, login refused, no STARTTLS) cannot be fixed by
trying again and stops the send with a `CporError` (exit 3). Everything else is per message.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
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
    """One message was not delivered. ``permanent``: the server refused it (5xx), retrying will not help;
    ``unreachable``: no connection could be made, so later messages would fail the same way."""

    def __init__(self, reason: str, *, permanent: bool, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.unreachable = unreachable


class SmtpTransport:
    """One SMTP connection, opened on first use, reused for every message, reopened after a failure."""

    def __init__(
        self,
        settings: SmtpSettings,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if settings.security == "plain" and settings.user and settings.host not in LOOPBACK_HOSTS:
            raise CporError(
                f"--plain would send the password for {settings.user} unencrypted to {settings.host}; "
                "use --starttls or --ssl (plain is for a local relay)."
            )
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self._conn: smtplib.SMTP | None = None

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

    def deliver(self, message: EmailMessage, sender: str, recipients: Sequence[str]) -> dict[str, str]:
        """Send ``message`` to ``recipients``; returns the recipients the server refused while accepting
        others (address -> reply). Raises ``DeliveryFailed`` or, for a configuration problem, CporError."""
        reason = ""
        unreachable = False
        for attempt in range(max(self.retry.attempts, 1)):
            if attempt:
                self.sleep(self.retry.delay(attempt))
            try:
                conn = self._connection()
            except CporError:
                raise
            except (smtplib.SMTPException, OSError) as err:
                reason, unreachable = f"cannot connect to {self.settings.address}: {_describe(err)}", True
                continue
            unreachable = False
            try:
                refused = conn.send_message(message, sender, list(recipients))
            except smtplib.SMTPRecipientsRefused as err:
                codes = [code for code, _ in err.recipients.values()]
                reason = "; ".join(
                    f"{addr}: {_reply(code, text)}" for addr, (code, text) in err.recipients.items()
                )
                if codes and all(code >= 500 for code in codes):
                    raise DeliveryFailed(reason, permanent=True) from None
            except smtplib.SMTPResponseException as err:
                reason = _reply(err.smtp_code, err.smtp_error)
                if err.smtp_code >= 500:
                    raise DeliveryFailed(reason, permanent=True) from None
            except (smtplib.SMTPException, OSError) as err:  # dropped connection, timeout
                reason = _describe(err)
            else:
                return {addr: _reply(code, text) for addr, (code, text) in refused.items()}
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
        context = self._tls_context() if s.security != "plain" else None
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
            if s.user:
                _login(conn, s.user, s.password or "")
        except ssl.SSLError as err:
            conn.close()
            raise self._tls_problem(err) from None
        except smtplib.SMTPAuthenticationError as err:
            conn.close()
            raise CporError(
                f"{s.address} refused the login for {s.user} ({_reply(err.smtp_code, err.smtp_error)}); "
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

    def _tls_context(self) -> ssl.SSLContext:
        ca_file = self.settings.ca_file
        if ca_file is not None and not Path(ca_file).is_file():
            raise CporError(f"CA file {ca_file} does not exist; give a PEM file with --ca-file.")
        try:
            return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
        except ssl.SSLError as err:
            raise CporError(f"CA file {ca_file} is not a PEM certificate file ({err}).") from None

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


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def _describe(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPResponseException):
        return _reply(err.smtp_code, err.smtp_error)
    if isinstance(err, TimeoutError | socket.timeout):
        return "timed out"
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return str(text)
