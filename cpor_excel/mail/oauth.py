"""Signing in to Microsoft 365 for SMTP and IMAP: an OAuth access token from MSAL, for XOAUTH2.

A thin adapter over the ``msal`` library (imported only here, and only when a command signs in):
- a person signs in with the *device code* flow (a code to enter at Microsoft's sign-in page, in any browser);
- an app registration signs in with its *client credentials* (the secret from ``CPOR_CLIENT_SECRET``);
- ``CPOR_OAUTH_TOKEN``, when set, is used as the access token as it is (automation, and tests offline).
Tokens are cached in the user's data folder through ``msal-extensions``: encrypted where the system offers it
(DPAPI on Windows, the Keychain on macOS, libsecret on Linux); where it does not (Linux without a keyring),
in a plain file readable only by the user, and the user is told so.

Scopes, as Microsoft documents them for IMAP/POP/SMTP with OAuth: a person's token asks for
``https://outlook.office.com/SMTP.Send`` or ``https://outlook.office.com/IMAP.AccessAsUser.All`` (MSAL adds
``offline_access`` so the sign-in lasts); an app's token asks for ``https://outlook.office365.com/.default``
(its SMTP.SendAsApp / IMAP.AccessAsApp permissions).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cpor_excel.errors import CporError, UsageError
from cpor_excel.mail.journal import data_dir

TOKEN_VARIABLE = "CPOR_OAUTH_TOKEN"
SECRET_VARIABLE = "CPOR_CLIENT_SECRET"
CACHE_FILE = "msal-token-cache.bin"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/{tenant}"
Protocol = Literal["smtp", "imap"]
USER_SCOPES: dict[str, list[str]] = {
    "smtp": ["https://outlook.office.com/SMTP.Send"],
    "imap": ["https://outlook.office.com/IMAP.AccessAsUser.All"],
}
APP_SCOPES = ["https://outlook.office365.com/.default"]


@dataclass(frozen=True)
class OAuthSettings:
    """How to sign in (the ``--oauth`` options)."""

    client_id: str | None = None  # the app registration's Application (client) ID
    tenant: str | None = None  # Directory (tenant) ID or a domain; a person may leave it out
    app: bool = False  # client credentials (an app registration) instead of a person's device code
    sign_in: bool = False  # sign in anew, ignoring the cached sign-in
    authority: str | None = None  # default https://login.microsoftonline.com/<tenant>
    cache_dir: Path | None = None  # default: the user's data folder


@dataclass(frozen=True)
class AccessToken:
    token: str = field(repr=False)
    user: str | None  # who signed in (device code), when known
    advice: str  # what to do when a server refuses the token
    #: a fresh token for a later login (MSAL hands back the cached one while it is valid and refreshes one
    #: near its end), so that a long send that has to reconnect never logs in with an expired token
    renew: Callable[[], str] | None = field(default=None, repr=False, compare=False)


def access_token(settings: OAuthSettings, protocol: Protocol, tell: Callable[[str], None]) -> AccessToken:
    """An access token for SMTP or IMAP. ``tell`` shows the user the device-code prompt and notices.
    Raises UsageError for missing options and CporError when the sign-in fails."""
    given = os.environ.get(TOKEN_VARIABLE, "").strip()
    if given:
        return AccessToken(
            given, None, f"The token in {TOKEN_VARIABLE} was refused: it may have expired or lack the permission; "
            f"put a new one there, or unset it to sign in with --client-id.",
        )  # fmt: skip
    if not settings.client_id:
        raise UsageError(
            f"--oauth needs --client-id (the app registration's Application (client) ID), or an access token "
            f"in {TOKEN_VARIABLE}."
        )
    if settings.app and not (settings.tenant or settings.authority):
        raise UsageError("--client-credentials needs --tenant (the Directory (tenant) ID of the mailbox).")
    msal = _msal()
    cache = token_cache(settings.cache_dir, tell)
    authority = settings.authority or DEFAULT_AUTHORITY.format(tenant=settings.tenant or "organizations")
    # an authority given explicitly (a national cloud, a test's) is trusted as it is: MSAL's check of it
    # asks login.microsoftonline.com, which knows only Microsoft's own hosts
    options: dict[str, Any] = {"authority": authority, "token_cache": cache}
    if settings.authority:
        options["instance_discovery"] = False
    try:
        if settings.app:
            result = _app_token(msal, settings, options)
            user = None
        else:
            result, user = _person_token(msal, settings, options, protocol, tell)
    except ValueError as err:  # MSAL's word for an authority it cannot use
        raise CporError(f"Cannot sign in at {authority} ({err}); check --tenant (and --authority).") from None
    except OSError as err:
        raise CporError(
            f"Cannot reach Microsoft's sign-in at {authority} ({err}); check the network."
        ) from None
    if "access_token" not in result:
        raise CporError(f"Microsoft sign-in failed: {_failure(result)}. {_setup_hint(settings, protocol)}")
    return AccessToken(
        str(result["access_token"]),
        user,
        _refused_advice(settings, protocol),
        renew=lambda: access_token(settings, protocol, tell).token,
    )


def token_cache(folder: Path | None, tell: Callable[[str], None]) -> Any:
    """MSAL's token cache persisted in ``folder`` (default: the user's data folder), encrypted where the
    system allows; on Linux without a keyring a plain file readable only by the user, and ``tell`` says so."""
    from msal_extensions import FilePersistence, PersistedTokenCache, build_encrypted_persistence

    path = (Path(folder) if folder is not None else data_dir()) / CACHE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        persistence = build_encrypted_persistence(str(path))
    except Exception as err:  # libsecret (PyGObject, a keyring) missing or locked: anything it raises
        if sys.platform.startswith(("win", "darwin")):  # these always offer encryption: a real failure
            raise CporError(f"Cannot open the encrypted sign-in cache {path} ({err}).") from None
        tell(
            f"Note: this system offers no encrypted store for the sign-in ({_first_line(err)}); it is kept in "
            f"{path}, readable only by you."
        )
        persistence = FilePersistence(str(path))
    return PersistedTokenCache(persistence)


def _app_token(msal: Any, settings: OAuthSettings, options: dict[str, Any]) -> dict[str, Any]:
    secret = os.environ.get(SECRET_VARIABLE, "")
    if not secret:
        raise UsageError(
            f"--client-credentials needs the app registration's client secret in {SECRET_VARIABLE}."
        )
    app = msal.ConfidentialClientApplication(settings.client_id, client_credential=secret, **options)
    if settings.sign_in:
        app.remove_tokens_for_client()
    result: dict[str, Any] = app.acquire_token_for_client(scopes=APP_SCOPES)
    return result


def _person_token(
    msal: Any,
    settings: OAuthSettings,
    options: dict[str, Any],
    protocol: Protocol,
    tell: Callable[[str], None],
) -> tuple[dict[str, Any], str | None]:
    app = msal.PublicClientApplication(settings.client_id, **options)
    scopes = USER_SCOPES[protocol]
    accounts = app.get_accounts()
    if settings.sign_in:
        for account in accounts:
            app.remove_account(account)
        accounts = []
    for account in accounts:
        silent = app.acquire_token_silent(scopes, account=account)
        if silent and "access_token" in silent:
            return silent, account.get("username")
    flow = app.initiate_device_flow(scopes=scopes)
    if "user_code" not in flow:
        return flow, None
    tell(str(flow["message"]))
    result: dict[str, Any] = app.acquire_token_by_device_flow(flow)
    claims = result.get("id_token_claims") or {}
    return result, claims.get("preferred_username")


def _msal() -> Any:
    try:
        import msal
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        raise CporError("--oauth needs the msal package: pip install msal msal-extensions") from None
    return msal


def _failure(result: dict[str, Any]) -> str:
    error = str(result.get("error") or "no token")
    description = _first_line(result.get("error_description") or "")
    return f"{error}: {description}" if description else error


def _first_line(text: object) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else type(text).__name__


def _setup_hint(settings: OAuthSettings, protocol: Protocol) -> str:
    if settings.app:
        return (
            f"Check --tenant, --client-id and {SECRET_VARIABLE}, and that the app registration has the "
            f"{_app_permission(protocol)} permission of Office 365 Exchange Online with admin consent."
        )
    return (
        "Check --client-id and --tenant, that the app registration allows public client flows (device code), "
        f"and that it has the delegated {_user_permission(protocol)} permission."
    )


def _refused_advice(settings: OAuthSettings, protocol: Protocol) -> str:
    if settings.app:
        return (
            "Run the command again with --sign-in for a new token; if it is refused again, the app registration "
            f"needs the {_app_permission(protocol)} permission with admin consent, and Exchange Online a service "
            "principal for it with access to the mailbox (New-ServicePrincipal, Add-MailboxPermission)."
        )
    what = "Authenticated SMTP" if protocol == "smtp" else "IMAP"
    return (
        "Sign in again: run the command again with --sign-in (the cached sign-in is dropped). If it is refused "
        f"again, your admin must allow {what} for the mailbox and grant the app registration "
        f"{_user_permission(protocol)}."
    )


def _app_permission(protocol: Protocol) -> str:
    return "SMTP.SendAsApp" if protocol == "smtp" else "IMAP.AccessAsApp"


def _user_permission(protocol: Protocol) -> str:
    return "SMTP.Send" if protocol == "smtp" else "IMAP.AccessAsUser.All"
