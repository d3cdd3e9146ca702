"""A consent pre-notification as an email message: jinja2 templates -> EmailMessage (multipart text + HTML).

Templates are looked up in the partner's own folder first, then in the shipped ones
(``importlib.resources``, so an installed package works as well as a checkout). The text template sets
``subject``; the HTML template receives it. User text reaches headers only through ``Address`` objects and a
one-line subject, so a CR/LF or comma in a name can never add a header or a recipient.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from email_validator import EmailNotValidError, validate_email

from cpor_excel.errors import CporError
from cpor_excel.model.catalogue import DEFAULT_LANGUAGE
from cpor_excel.rules.drafts import DraftRequest

TEMPLATE = "consent_request"
#: drafts carry the as-of date at this hour, so two runs on one as-of date write identical files
SEND_HOUR_UTC = 9

_T = TypeVar("_T")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})?$")

_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
}
_DATE_FORMATS: dict[str, Callable[[dt.date, str], str]] = {
    "en": lambda d, m: f"{d.day} {m} {d.year}",
    "de": lambda d, m: f"{d.day}. {m} {d.year}",
    "fr": lambda d, m: f"{'1er' if d.day == 1 else d.day} {m} {d.year}",
    "nl": lambda d, m: f"{d.day} {m} {d.year}",
    "es": lambda d, m: f"{d.day} de {m} de {d.year}",
}


class DraftRefused(ValueError):
    """The claim's data cannot make a sendable email (e.g. an invalid address); ``str()`` says why."""


def long_date(day: dt.date, language: str) -> str:
    """'7 April 2025', '7. April 2025', '7 avril 2025', ...; ISO for a language without month names."""
    months = _MONTHS.get(language)
    if months is None:
        return day.isoformat()
    return _DATE_FORMATS[language](day, months.split()[day.month - 1])


def render_consent(
    request: DraftRequest,
    as_of: dt.date,
    templates_dir: Path | None = None,
) -> EmailMessage:
    """The consent pre-notification for one claim, ready to be written as an .eml draft.

    Raises ``DraftRefused`` when an address is not valid (the caller reports `draft-not-written`) and
    ``CporError`` when a template is broken (a partner's override: the message names the file).
    """
    customer_email = checked_address(request.customer.contact_email, "customer Contact Email")
    partner_email = checked_address(request.partner.contact_email, "Partner Contact Email")
    # names go into greeting lines, table cells and headers: one line each, whatever the cell held
    request = dataclasses.replace(
        request,
        customer=dataclasses.replace(_one_line_fields(request.customer), contact_email=customer_email),
        partner=dataclasses.replace(_one_line_fields(request.partner), contact_email=partner_email),
        poe_reference=one_line(request.poe_reference) if request.poe_reference else None,
    )
    env = _environment(None if templates_dir is None else str(Path(templates_dir).resolve()))
    language = _template_language(env, request.customer.language)
    context: dict[str, Any] = {f.name: getattr(request, f.name) for f in dataclasses.fields(request)}
    context.update(language=language, as_of=as_of)

    text_name = f"{TEMPLATE}.{language}.txt.j2"
    with _template_errors(text_name):
        module = env.get_template(text_name).make_module(context)
        text = str(module)
        subject = getattr(module, "subject", None)
    if not subject or not str(subject).strip():
        raise CporError(
            f"Email template {text_name} does not set a subject: "
            "add {% set subject %}...{% endset %} to it."
        )
    subject = one_line(str(subject))
    html_name = f"{TEMPLATE}.{language}.html.j2"
    with _template_errors(html_name):
        html = env.get_template(html_name).render(context, subject=subject)

    partner_domain = partner_email.rsplit("@", 1)[1]
    message = EmailMessage()
    message["From"] = _address(request.partner.contact_name, partner_email)
    message["To"] = _address(request.customer.contact_name, customer_email)
    message["Reply-To"] = _address(request.partner.contact_name, partner_email)
    message["Subject"] = subject
    message["Date"] = format_datetime(
        dt.datetime.combine(as_of, dt.time(SEND_HOUR_UTC), tzinfo=dt.timezone.utc)
    )
    message["Message-ID"] = message_id(request.claim_id, request.customer.tenant_id, partner_domain)
    message["X-Unsent"] = "1"  # Outlook opens an .eml with this header as a draft to review and send
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    # a fixed boundary (not the random default) so the same claim on the same as-of date gives the same
    # bytes; "=_" cannot occur in quoted-printable or base64 parts
    message.set_boundary(
        "=_cpor_" + _claim_digest(request.claim_id, request.customer.tenant_id, partner_domain)
    )
    return message


def checked_address(address: str, what: str) -> str:
    """The normalised address, or ``DraftRefused`` saying what is wrong with it. No DNS lookups."""
    try:
        valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as err:
        raise DraftRefused(f"the {what} {address!r} is not a valid email address ({err})") from None
    # the ASCII form (an international domain in punycode) needs no SMTPUTF8 from any server
    return str(valid.ascii_email or valid.normalized)


def message_id(claim_id: str, tenant_id: str, partner_domain: str) -> str:
    """Deterministic, so a re-drafted email is recognised by the sent log as the same message."""
    return f"<cpor-{_claim_digest(claim_id, tenant_id, partner_domain)}@{partner_domain}>"


def _claim_digest(claim_id: str, tenant_id: str, partner_domain: str) -> str:
    return hashlib.sha256(f"{claim_id}\x1f{tenant_id}\x1f{partner_domain}".encode()).hexdigest()[:24]


def one_line(text: str) -> str:
    """Control characters (CR, LF, tab, ...) and runs of spaces become one space."""
    cleaned = "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in text)
    return " ".join(cleaned.split())


def _one_line_fields(item: _T) -> _T:
    changes = {
        f.name: one_line(value)
        for f in dataclasses.fields(item)  # type: ignore[arg-type]
        if isinstance(value := getattr(item, f.name), str)
    }
    return dataclasses.replace(item, **changes)  # type: ignore[type-var]


def _address(display_name: str, addr_spec: str) -> Address:
    return Address(display_name=one_line(display_name), addr_spec=addr_spec)


def _template_language(env: jinja2.Environment, language: str) -> str:
    """The customer's language when both its templates exist (shipped or the partner's), else English,
    so that the text and HTML parts of one email are never in two languages."""
    code = (language or "").strip().lower()
    if not _LANGUAGE_CODE.match(code):
        return DEFAULT_LANGUAGE
    try:
        env.get_template(f"{TEMPLATE}.{code}.txt.j2")
        env.get_template(f"{TEMPLATE}.{code}.html.j2")
    except jinja2.TemplateNotFound:
        return DEFAULT_LANGUAGE
    except jinja2.TemplateSyntaxError as err:
        raise _broken(err.name or code, err) from None
    return code


@contextlib.contextmanager
def _template_errors(name: str) -> Iterator[None]:
    """Turn a jinja2 error in a template into one CporError line naming the file and the problem."""
    try:
        yield
    except jinja2.TemplateError as err:
        raise _broken(name, err) from None


def _broken(name: str, err: BaseException) -> CporError:
    line = getattr(err, "lineno", None)
    where = f"{name} line {line}" if line else name
    return CporError(
        f"Email template {where} cannot be rendered ({err}); correct it, or remove it from your "
        "templates folder to use the shipped one."
    )


def _shipped_template(name: str) -> tuple[str, str, Callable[[], bool]] | None:
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    source = resources.files("cpor_excel.templates").joinpath(name)
    if not source.is_file():
        return None
    return source.read_text(encoding="utf-8"), f"cpor_excel.templates/{name}", lambda: True


def _date_filter(context: Any, day: dt.date | None) -> str:
    if day is None:
        return ""
    return long_date(day, context.get("language", DEFAULT_LANGUAGE))


@functools.lru_cache(maxsize=8)
def _environment(templates_dir: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        if not Path(templates_dir).is_dir():
            raise CporError(
                f"Templates folder {templates_dir} does not exist; create it or drop --templates."
            )
        loaders.append(jinja2.FileSystemLoader(templates_dir, encoding="utf-8"))
    loaders.append(jinja2.FunctionLoader(_shipped_template))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2", "htm.j2", "html"),
            disabled_extensions=("txt.j2",),
            default_for_string=False,
            default=False,
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["longdate"] = jinja2.pass_context(_date_filter)
    return env
