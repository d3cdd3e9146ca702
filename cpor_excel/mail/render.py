"""A consent pre-notification as an email: jinja2 templates -> the bytes of a multipart text + HTML .eml.

Templates are looked up in the partner's own folder first, then in the shipped ones
(``importlib.resources``, so an installed package works as well as a checkout). The text template sets
``subject``; the HTML template receives it.

The message is written straight to bytes rather than through ``email.message.EmailMessage``, whose header
parsing and refolding cost several milliseconds a draft (issue 9). What makes that safe is small and kept
in this module: user text reaches headers only as one-line display names and a one-line subject, each
written either as plain ASCII (a display name quoted when it holds specials) or as RFC 2047 encoded words,
and addresses only after validation; so a CR/LF or comma in a name can never add a header or a recipient.
Bodies are quoted-printable, so the ``=_`` boundary can never occur inside them.
"""

from __future__ import annotations

import binascii
import contextlib
import dataclasses
import datetime as dt
import email
import email.policy
import functools
import hashlib
import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import format_datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from email_validator import EmailNotValidError, validate_email

from cpor_excel.errors import CporError
from cpor_excel.model.catalogue import DEFAULT_LANGUAGE
from cpor_excel.model.evaluation import DraftRequest, Partner
from cpor_excel.rules.values import plain_email

TEMPLATE = "consent_request"
#: drafts carry the as-of date at this hour, so two runs on one as-of date write identical files
SEND_HOUR_UTC = 9

_T = TypeVar("_T")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})?$")
#: exactly the Unicode categories Cc, Zl and Zp (control characters, line and paragraph separators)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: characters that make a display name a quoted string (RFC 5322 specials), and those escaped inside one
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_QUOTED_ESCAPES = re.compile(r'[\\"]')
#: header lines are folded to this length (RFC 5322 "SHOULD"; servers reject lines over 998)
_LINE = 78
#: a plain display name longer than this is written as encoded words, which can be folded
_PLAIN_NAME = _LINE - len("Reply-To: ")
#: UTF-8 bytes per encoded word: "=?utf-8?b?" + 56 base64 characters + "?=" is 68 characters, so
#: "Reply-To: " and one word fit in a line, and a word stays under RFC 2047's 75
_WORD_BYTES = 42
_REQUEST_FIELDS = tuple(f.name for f in dataclasses.fields(DraftRequest))

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


@dataclasses.dataclass(frozen=True)
class ConsentEmail:
    """One consent email, ready to be written as an .eml draft, and what the workbook records of it."""

    to: str  # the customer contact's address (ASCII form)
    subject: str  # one line, as the customer reads it
    message_id: str
    #: the whole .eml file: ASCII, CRLF line ends, ``X-Unsent: 1``
    data: bytes = dataclasses.field(repr=False)

    def as_bytes(self) -> bytes:
        return self.data

    def as_message(self) -> EmailMessage:
        """The email as a mail program reads it (parsed with the standard library's default policy)."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


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
) -> ConsentEmail:
    """The consent pre-notification for one claim, ready to be written as an .eml draft.

    Raises ``DraftRefused`` when an address is not valid (the caller reports `draft-not-written`) and
    ``CporError`` when a template is broken (a partner's override: the message names the file).
    Drafting many claims, use one ``ConsentRenderer``: it loads each template and checks each address once.
    """
    return ConsentRenderer(templates_dir).render(request, as_of)


class ConsentRenderer:
    """Renders the consent emails of one run: templates are loaded once per language and each distinct
    address is validated once, however many claims share it. Not shared between runs, so a template the
    partner edits is picked up by the next run."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self._templates_dir = None if templates_dir is None else str(Path(templates_dir).resolve())
        self._languages: dict[str, str] = {}
        self._templates: dict[str, jinja2.Template] = {}
        self._globals: dict[str, dict[str, Any]] = {}  # each template's globals, as one dict
        self._addresses: dict[str, str | EmailNotValidError] = {}
        #: per partner and address: the partner on one line, its From and Reply-To headers (the same in
        #: every email of a run)
        self._partners: dict[tuple[Partner, str], tuple[Partner, str, str]] = {}

    def render(self, request: DraftRequest, as_of: dt.date) -> ConsentEmail:
        """See ``render_consent``."""
        customer_email = self._checked(request.customer.contact_email, "customer Contact Email")
        partner_email = self._checked(request.partner.contact_email, "Partner Contact Email")
        # names go into greeting lines, table cells and headers: one line each, whatever the cell held
        customer = _one_line_fields(request.customer, contact_email=customer_email)
        known = self._partners.get((request.partner, partner_email))
        if known is None:
            partner = _one_line_fields(request.partner, contact_email=partner_email)
            sender = _address_header("From", partner.contact_name, partner_email)
            reply_to = _address_header("Reply-To", partner.contact_name, partner_email)
            known = self._partners[(request.partner, partner_email)] = (partner, sender, reply_to)
        partner, sender, reply_to = known
        language = self._language(customer.language)
        context: dict[str, Any] = {name: getattr(request, name) for name in _REQUEST_FIELDS}
        context.update(
            customer=customer,
            partner=partner,
            poe_reference=one_line(request.poe_reference) if request.poe_reference else None,
            language=language,
            as_of=as_of,
        )

        text_name = f"{TEMPLATE}.{language}.txt.j2"
        with _template_errors(text_name):
            module = self._module(text_name, context)
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
            html = str(self._module(html_name, {**context, "subject": subject}))

        partner_domain = partner_email.rsplit("@", 1)[1]
        digest = _claim_digest(request.claim_id, customer.tenant_id, partner_domain)
        ident = f"<cpor-{digest}@{partner_domain}>"
        headers = "".join(
            (
                sender,
                _address_header("To", customer.contact_name, customer_email),
                reply_to,
                _unstructured_header("Subject", subject),
                f"Date: {_date_header(as_of)}\r\n",
                f"Message-ID: {ident}\r\n",
                "X-Unsent: 1\r\n",  # Outlook opens an .eml with this header as a draft to review and send
            )
        )
        # a fixed boundary (not a random one) so the same claim on the same as-of date gives the same
        # bytes; "=_" cannot occur in quoted-printable
        data = _multipart_alternative(headers.encode("ascii"), f"=_cpor_{digest}", text, html)
        return ConsentEmail(to=customer_email, subject=subject, message_id=ident, data=data)

    def _checked(self, address: str, what: str) -> str:
        found = self._addresses.get(address)
        if found is None:
            try:
                found = _normalised_address(address)
            except EmailNotValidError as err:
                found = err
            self._addresses[address] = found
        if isinstance(found, EmailNotValidError):
            raise DraftRefused(f"the {what} {address!r} is not a valid email address ({found})")
        return found

    def _environment(self) -> jinja2.Environment:
        # looked up at first use, not at construction: a claim with a bad address is refused before a
        # missing templates folder is reported, as it always was
        return _environment(self._templates_dir)

    def _language(self, language: str) -> str:
        found = self._languages.get(language)
        if found is None:
            found = self._languages[language] = _template_language(self._environment(), language)
        return found

    def _template(self, name: str) -> jinja2.Template:
        found = self._templates.get(name)
        if found is None:
            found = self._templates[name] = self._environment().get_template(name)
            self._globals[name] = dict(found.globals)
        return found

    def _module(self, name: str, context: dict[str, Any]) -> Any:
        """The template rendered with ``context`` (``str()`` of it: the text; its attributes: what it sets).
        What ``Template.render`` and ``make_module`` do, given the template's globals with the context as one
        dict (``shared``): they would copy them from a ChainMap per email, half of what rendering costs."""
        template = self._template(name)
        return template.make_module({**self._globals[name], **context}, shared=True)


def checked_address(address: str, what: str) -> str:
    """The normalised address, or ``DraftRefused`` saying what is wrong with it. No DNS lookups."""
    try:
        return _normalised_address(address)
    except EmailNotValidError as err:
        raise DraftRefused(f"the {what} {address!r} is not a valid email address ({err})") from None


def _normalised_address(address: str) -> str:
    # most addresses are valid as they are, and email-validator would only lower-case their domain (at about
    # 50 us an address; a batch has thousands)
    if plain_email(address):
        local, domain = address.rsplit("@", 1)
        return f"{local}@{domain.lower()}"
    valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    # the ASCII form (an international domain in punycode) needs no SMTPUTF8 from any server
    return str(valid.ascii_email or valid.normalized)


def message_id(claim_id: str, tenant_id: str, partner_domain: str) -> str:
    """Deterministic, so a re-drafted email is recognised by the sent log as the same message."""
    return f"<cpor-{_claim_digest(claim_id, tenant_id, partner_domain)}@{partner_domain}>"


def _claim_digest(claim_id: str, tenant_id: str, partner_domain: str) -> str:
    return hashlib.sha256(f"{claim_id}\x1f{tenant_id}\x1f{partner_domain}".encode()).hexdigest()[:24]


def one_line(text: str) -> str:
    """Control characters (CR, LF, tab, ...) and runs of spaces become one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _one_line_fields(item: _T, **also: Any) -> _T:
    """The item with every text field on one line (``one_line``), and the fields ``also`` as given."""
    kind: Any = type(item)
    changes = {
        name: one_line(value) for name in _field_names(kind) if isinstance(value := getattr(item, name), str)
    }
    changes.update(also)
    return dataclasses.replace(item, **changes)  # type: ignore[type-var]


@functools.cache
def _field_names(kind: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


def _address_header(field: str, display_name: str, address: str) -> str:
    """``Field: name <address>``: the name on one line, as plain ASCII (a quoted string when it holds
    specials) or as encoded words; ``address`` is already validated ASCII."""
    name = one_line(display_name)
    if not name:
        return _fold(field, [address])
    if _plain(name):
        phrase = '"' + _QUOTED_ESCAPES.sub(r"\\\g<0>", name) + '"' if _SPECIALS.search(name) else name
        if len(phrase) <= _PLAIN_NAME:
            return _fold(field, [phrase, f"<{address}>"])
    return _fold(field, [*_encoded_words(name), f"<{address}>"])


def _unstructured_header(field: str, text: str) -> str:
    """A one-line value (the subject): plain ASCII folded at its spaces, else encoded words."""
    words = text.split(" ")
    if _plain(text) and max(map(len, words)) <= _LINE - len(field) - 2:
        return _fold(field, words)
    return _fold(field, _encoded_words(text))


def _plain(text: str) -> bool:
    # "=?" would be read back as the start of an encoded word: such text is encoded too
    return text.isascii() and "=?" not in text


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 "B" encoded words of at most ``_WORD_BYTES`` UTF-8 bytes, never splitting a character
    (a mail program joins adjacent encoded words without the space between them)."""
    data = text.encode("utf-8")
    words: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a continuation byte: back up
            end -= 1
        encoded = binascii.b2a_base64(data[start:end], newline=False).decode("ascii")
        words.append(f"=?utf-8?b?{encoded}?=")
        start = end
    return words


def _fold(field: str, tokens: list[str]) -> str:
    """``Field: token token ...`` folded between tokens into lines of at most 78 characters (a longer
    token gets a line of its own), ending in CRLF."""
    lines: list[str] = []
    line = f"{field}:"
    for position, token in enumerate(tokens):
        if position and len(line) + 1 + len(token) > _LINE:
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


@functools.lru_cache(maxsize=16)
def _date_header(as_of: dt.date) -> str:
    return format_datetime(dt.datetime.combine(as_of, dt.time(SEND_HOUR_UTC), tzinfo=dt.timezone.utc))


_PART = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
_TEXT_PART = _PART.format("plain").encode("ascii")
_HTML_PART = _PART.format("html").encode("ascii")


def _multipart_alternative(headers: bytes, boundary: str, text: str, html: str) -> bytes:
    """The whole message: headers, then the text and HTML parts, UTF-8 and quoted-printable, CRLF."""
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")  # the CRLF before a boundary belongs to it
    return b"".join(
        (
            headers,
            f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n'.encode(),
            delimiter,
            _TEXT_PART,
            _quoted_printable(text),
            delimiter,
            _HTML_PART,
            _quoted_printable(html),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )


def _quoted_printable(body: str) -> bytes:
    """The body in UTF-8, quoted-printable with CRLF line ends, ending in a line end (the CRLF before
    the next boundary belongs to the boundary)."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    return binascii.b2a_qp(body.replace("\n", "\r\n").encode("utf-8"), istext=True)


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
