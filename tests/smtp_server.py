"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 (a free port), collecting what it accepts.

The ``smtp_server`` fixture (import ``smtp_server_fixture`` and ``tls_ca_fixture`` into a test module)
returns a function that starts one: plain, STARTTLS with a throwaway CA from trustme (required
before MAIL), implicit TLS, with or without AUTH LOGIN/PLAIN and XOAUTH2 (the access tokens it accepts are
the handler's ``tokens``, a refused one is answered as Exchange Online does: a 334 challenge with the error,
then 535); its handler can answer 451 to the first DATA attempts, 550 to given recipients, answer DATA
slowly, or keep a message and drop the connection instead of answering. Servers stop when the test ends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
USER, PASSWORD = "mailer", "s3cret-pässword"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    user: str | None


@dataclass
class Collector:
    """aiosmtpd handler: accepts and keeps messages; can fail DATA with 451 or refuse recipients with 550."""

    temporary_failures: int = 0  # answer the first N DATA commands with 451
    reject: frozenset[str] = frozenset()  # recipients refused with 550
    data_delay: float = 0.0  # seconds between keeping a message and answering DATA
    drop_after_data: int = 0  # keep the first N messages but close the connection instead of answering
    tokens: dict[str, str] = field(default_factory=dict)  # XOAUTH2: access token -> the user it is for
    messages: list[Received] = field(default_factory=list)
    data_attempts: int = 0
    refused_tokens: list[str] = field(default_factory=list)
    accepted_tokens: list[str] = field(default_factory=list)  # XOAUTH2: each login's token, in order

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        """SASL XOAUTH2: base64 of ``user=U^Aauth=Bearer T^A^A``, checked against ``tokens``."""
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode base64")
        else:
            blob = await server.challenge_auth("")
        fields = bytes(blob).split(b"\x01")
        user = fields[0].removeprefix(b"user=").decode()
        token = fields[1].removeprefix(b"auth=Bearer ").decode() if len(fields) > 1 else ""
        if self.tokens.get(token) == user:
            self.accepted_tokens.append(token)
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        self.refused_tokens.append(token)
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer", "scope": "smtp"}))
        return AuthResult(success=False, handled=False, message="535 5.7.3 Authentication unsuccessful")

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        if self.data_attempts <= self.temporary_failures:
            return "451 4.3.0 try again later"
        user = session.auth_data.login.decode() if session.authenticated and session.auth_data else None
        self.messages.append(
            Received(
                envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content), _encrypted(server), user
            )
        )
        if self.data_delay:  # kept, then slow to say so (a client that stops waiting never hears it)
            await asyncio.sleep(self.data_delay)
        if len(self.messages) <= self.drop_after_data:
            server.transport.abort()  # kept, but the client never hears so
        return "250 2.0.0 accepted"


def _encrypted(server: Any) -> bool:
    """STARTTLS (aiosmtpd's own flag) or implicit TLS (the transport is an SSL one from the start)."""
    return bool(server._tls_protocol) or server.transport.get_extra_info("ssl_object") is not None


@dataclass
class Server:
    host: str
    port: int
    handler: Collector
    ca_file: Path | None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture(scope="session", name="tls_ca")
def tls_ca_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    """A throwaway certificate authority and its certificate as a PEM file (what --ca-file takes)."""
    ca = trustme.CA()
    pem = tmp_path_factory.mktemp("ca") / "test-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return ca, pem


@pytest.fixture(name="smtp_server")
def smtp_server_fixture(tls_ca: tuple[trustme.CA, Path]) -> Iterator[Callable[..., Server]]:
    started: list[Controller] = []

    def start(
        handler: Collector | None = None,
        *,
        starttls: bool = False,
        implicit_tls: bool = False,
        auth: bool = False,
    ) -> Server:
        ca, pem = tls_ca
        handler = handler or Collector()
        context = None
        if starttls or implicit_tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(HOST, "localhost").configure_cert(context)
        options: dict[str, Any] = {}
        if starttls:
            options.update(tls_context=context, require_starttls=True)
        if implicit_tls:
            options.update(ssl_context=context)
        if auth:
            # aiosmtpd only counts STARTTLS as TLS for AUTH; an implicit-TLS session is encrypted anyway
            options.update(authenticator=_authenticate, auth_required=True, auth_require_tls=starttls)
        controller = Controller(handler, hostname=HOST, port=free_port(), ready_timeout=5.0, **options)
        controller.start()
        started.append(controller)
        return Server(HOST, controller.port, handler, pem if context is not None else None)

    yield start
    for controller in started:
        controller.stop()
