"""A stand-in for Microsoft's sign-in (login.microsoftonline.com) on 127.0.0.1 over HTTPS (trustme CA), so the
real ``msal`` library runs its real HTTP calls in tests: tenant discovery (OpenID configuration), the device
code flow (``devicecode``, then polling the token endpoint), refresh tokens, and client credentials.

What it cannot stand in for: Microsoft's own checks (who may sign in, consent, conditional access), the page
where a person enters the code, and Exchange Online's use of the token. The access tokens it issues are kept
in ``tokens`` (token -> user), the dict the test SMTP server (``smtp_server.Collector.tokens``) and the Dovecot
introspection endpoint accept.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

HOST = "127.0.0.1"
TENANT = "contoso-tenant-id"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "app-secret-value"
PERSON = "pat@partner.example"
MAILBOX = "consent@partner.example"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class Authority:
    """What the stand-in knows and what it was asked."""

    base: str = ""
    pending_polls: int = 0  # answer the first device-code polls with authorization_pending
    expires_in: int = 3600  # access token lifetime
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> user
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    device_codes: dict[str, str] = field(default_factory=dict)  # device code -> scope
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (endpoint, grant or "", scope)

    @property
    def url(self) -> str:
        return f"{self.base}/{TENANT}"

    def grants(self) -> list[str]:
        return [grant for endpoint, grant, _ in self.requests if endpoint == "token"]

    def issue(self, user: str, scope: str, *, refresh: bool) -> dict[str, Any]:
        token = "at-" + secrets.token_urlsafe(16)
        self.tokens[token] = user
        reply: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "access_token": token,
        }
        if refresh:
            refresh_token = "rt-" + secrets.token_urlsafe(16)
            self.refresh_tokens[refresh_token] = user
            now = int(time.time())
            claims = {
                "iss": f"{self.url}/v2.0",
                "aud": CLIENT_ID,
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "oid": "0f8fad5b-d9cb-469f-a165-70867728950e",
                "tid": TENANT,
                "sub": "subject",
                "preferred_username": user,
                "name": "Pat Partner",
            }
            header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            reply.update(
                refresh_token=refresh_token,
                id_token=f"{header}.{_b64url(json.dumps(claims).encode())}.",
                client_info=_b64url(json.dumps({"uid": claims["oid"], "utid": TENANT}).encode()),
            )
        return reply


class _Handler(BaseHTTPRequestHandler):
    authority: Authority

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        a = self.authority
        if self.path.split("?")[0] == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            self.authority.requests.append(("openid-configuration", "", ""))
            self._send(
                200,
                {
                    "issuer": f"{a.url}/v2.0",
                    "authorization_endpoint": f"{a.url}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{a.url}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{a.url}/oauth2/v2.0/devicecode",
                },
            )
            return
        self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        a = self.authority
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
        scope = form.get("scope", "")
        if form.get("client_id") != CLIENT_ID:
            self._send(
                400, {"error": "unauthorized_client", "error_description": "AADSTS700016: unknown app"}
            )
            return
        if self.path == f"/{TENANT}/oauth2/v2.0/devicecode":
            a.requests.append(("devicecode", "", scope))
            code = "dc-" + secrets.token_urlsafe(8)
            a.device_codes[code] = scope
            self._send(
                200,
                {
                    "device_code": code,
                    "user_code": "ABCD-EFGH",
                    "verification_uri": "https://microsoft.com/devicelogin",
                    "expires_in": 900,
                    "interval": 1,
                    "message": "To sign in, open https://microsoft.com/devicelogin and enter the code ABCD-EFGH.",
                },
            )
            return
        if self.path != f"/{TENANT}/oauth2/v2.0/token":
            self._send(404, {"error": "not_found"})
            return
        grant = form.get("grant_type", "")
        a.requests.append(("token", grant, scope))
        if grant == DEVICE_CODE_GRANT and form.get("device_code") in a.device_codes:
            if a.pending_polls > 0:
                a.pending_polls -= 1
                self._send(
                    400, {"error": "authorization_pending", "error_description": "AADSTS70016: pending"}
                )
                return
            self._send(200, a.issue(PERSON, a.device_codes.pop(form["device_code"]), refresh=True))
        elif grant == "refresh_token" and form.get("refresh_token") in a.refresh_tokens:
            self._send(200, a.issue(a.refresh_tokens.pop(form["refresh_token"]), scope, refresh=True))
        elif grant == "client_credentials":
            if form.get("client_secret") != SECRET:
                self._send(401, {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"})
            elif scope != "https://outlook.office365.com/.default":
                self._send(400, {"error": "invalid_scope", "error_description": "AADSTS1002012: bad scope"})
            else:
                self._send(200, a.issue(MAILBOX, scope, refresh=False))
        else:
            self._send(400, {"error": "invalid_grant", "error_description": "AADSTS70000: bad grant"})


@pytest.fixture(name="sign_in")
def sign_in_fixture(tls_ca: tuple[trustme.CA, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Authority]:
    """The stand-in authority, running; MSAL's HTTP client (requests) trusts its CA via REQUESTS_CA_BUNDLE."""
    ca, pem = tls_ca
    authority = Authority()
    handler = type("Handler", (_Handler,), {"authority": authority})
    server = ThreadingHTTPServer((HOST, 0), handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    authority.base = f"https://{HOST}:{server.server_address[1]}"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pem))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield authority
    server.shutdown()
    server.server_close()
