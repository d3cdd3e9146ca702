"""mail/render.py: consent emails from the shipped (or the partner's) templates, in five languages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.header
import email.policy
import email.utils
import re
from email.message import EmailMessage
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from cpor_excel.errors import CporError
from cpor_excel.mail import render as render_module
from cpor_excel.mail.render import (
    ConsentEmail,
    ConsentRenderer,
    DraftRefused,
    checked_address,
    long_date,
    message_id,
    one_line,
    render_consent,
)
from cpor_excel.model.catalogue import LANGUAGES
from cpor_excel.model.evaluation import Customer, DraftRequest, Partner

AS_OF = dt.date(2025, 4, 1)
TENANT = "0f8fad5b-d9cb-469f-a165-70867728950e"
#: the disclosure heading of each shipped language (the templates' own words)
DISCLOSURE = {
    "en": "Public-sector disclosure",
    "de": "Hinweis für den öffentlichen Sektor",
    "fr": "Information pour le secteur public",
    "nl": "Informatie voor de publieke sector",
    "es": "Aviso para el sector público",
}


def request(**changes: Any) -> DraftRequest:
    customer = Customer(
        name="Contoso Ltd",
        tenant_id=TENANT,
        domain="contoso.example",
        contact_name="Casey Customer",
        contact_title="CIO",
        contact_email="casey@contoso.example",
        public_sector=False,
        language="en",
        country="NL",
    )
    partner = Partner(
        id="1234567",
        name="Fabrikam Services",
        contact_name="Pat Partner",
        contact_email="pat@fabrikam.example",
    )
    customer = dataclasses.replace(customer, **changes.pop("customer", {}))
    partner = dataclasses.replace(partner, **changes.pop("partner", {}))
    base = DraftRequest(
        claim_id="CLM-1",
        rows=(2, 3),
        customer=customer,
        partner=partner,
        workloads=("Exchange Online", "Microsoft Teams"),
        poe_reference="POE-2025-001.pdf",
        poe_signed=dt.date(2025, 3, 3),
        submitted=dt.date(2025, 3, 31),
        window_ends=dt.date(2025, 4, 7),
        window_days=5,
    )
    return dataclasses.replace(base, **changes)


def parts(message: ConsentEmail | EmailMessage) -> tuple[str, str]:
    """The text and HTML parts as a mail program reads them (the .eml's CRLF line ends as newlines)."""
    if isinstance(message, ConsentEmail):
        message = reparse(message)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()).replace("\r\n", "\n"), str(html.get_content()).replace("\r\n", "\n")


def reparse(message: ConsentEmail) -> EmailMessage:
    """The message as a mail program reads it from the .eml bytes."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("public_sector", [False, True])
def test_each_language_names_everything_the_customer_needs(language: str, public_sector: bool) -> None:
    rendered = render_consent(request(customer={"language": language, "public_sector": public_sector}), AS_OF)
    msg = reparse(rendered)
    text, html = parts(msg)
    subject = str(msg["Subject"])
    assert subject == rendered.subject
    assert "Contoso Ltd" in subject and TENANT in subject
    for body in (text, html):
        for value in (
            "Contoso Ltd",
            TENANT,
            "contoso.example",
            "Exchange Online",
            "Microsoft Teams",
            "POE-2025-001.pdf",
            long_date(dt.date(2025, 3, 3), language),  # POE signed
            long_date(dt.date(2025, 4, 7), language),  # end of the window to decline
            "casey@contoso.example",  # where Microsoft will write
            "Fabrikam Services",
            "1234567",
            "pat@fabrikam.example",
        ):
            assert value in body, (language, value)
        assert (DISCLOSURE[language] in body) is public_sector
        # the partner's notice never promises money: no currency or amount
        assert not re.search(r"[€$£]|\b(USD|EUR|GBP)\b|\d+[.,]\d{2}\b", body)
    assert ('id="public-sector-disclosure"' in html) is public_sector
    assert f'<html lang="{language}">' in html


def test_the_five_languages_are_five_different_emails() -> None:
    subjects = {
        str(reparse(render_consent(request(customer={"language": lang}), AS_OF))["Subject"])
        for lang in LANGUAGES
    }
    assert len(subjects) == len(LANGUAGES) == 5


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_claim_not_yet_submitted_renders_without_a_window_date(language: str) -> None:
    draft = request(customer={"language": language}, submitted=None, window_ends=None)
    text, html = parts(render_consent(draft, AS_OF))
    assert long_date(dt.date(2025, 4, 7), language) not in text
    assert "5" in text and "POE-2025-001.pdf" in html


@pytest.mark.parametrize("language", ["it", "", "xx-YY", "../../etc", "EN"])
def test_unknown_or_odd_languages_fall_back_to_english(language: str) -> None:
    english = reparse(render_consent(request(), AS_OF))
    msg = reparse(render_consent(request(customer={"language": language}), AS_OF))
    assert str(msg["Subject"]) == str(english["Subject"])
    assert '<html lang="en">' in parts(msg)[1]


def test_long_dates_in_each_language() -> None:
    day, first = dt.date(2025, 3, 7), dt.date(2025, 8, 1)
    assert [long_date(day, lang) for lang in ("en", "de", "fr", "nl", "es", "it")] == [
        "7 March 2025",
        "7. März 2025",
        "7 mars 2025",
        "7 maart 2025",
        "7 de marzo de 2025",
        "2025-03-07",
    ]
    assert long_date(first, "fr") == "1er août 2025"


def test_headers_and_structure() -> None:
    msg = reparse(render_consent(request(), AS_OF))
    assert msg["From"].addresses[0].addr_spec == "pat@fabrikam.example"
    assert msg["From"].addresses[0].display_name == "Pat Partner"
    assert [a.addr_spec for a in msg["To"].addresses] == ["casey@contoso.example"]
    assert [a.addr_spec for a in msg["Reply-To"].addresses] == ["pat@fabrikam.example"]
    assert msg["Date"].datetime == dt.datetime(2025, 4, 1, 9, 0, tzinfo=dt.timezone.utc)
    assert msg["X-Unsent"] == "1"
    assert re.fullmatch(r"<cpor-[0-9a-f]{24}@fabrikam\.example>", msg["Message-ID"])
    assert msg.get_content_type() == "multipart/alternative"
    assert [(p.get_content_type(), p.get_content_charset()) for p in msg.iter_parts()] == [
        ("text/plain", "utf-8"),
        ("text/html", "utf-8"),
    ]


def test_same_claim_and_date_give_identical_bytes_and_message_ids_differ_by_claim() -> None:
    one = render_consent(request(), AS_OF).as_bytes()
    assert one == render_consent(request(), AS_OF).as_bytes()
    assert message_id("CLM-1", TENANT, "fabrikam.example") != message_id("CLM-2", TENANT, "fabrikam.example")
    assert message_id("CLM-1", TENANT, "a.example") != message_id("CLM-1", TENANT, "b.example")
    other = reparse(render_consent(request(claim_id="CLM-2"), AS_OF))
    assert other["Message-ID"] != reparse(render_consent(request(), AS_OF))["Message-ID"]


def test_cr_lf_in_names_never_adds_a_header_or_a_recipient() -> None:
    evil = "Casey\r\nBcc: attacker@evil.example\r\nX-Injected: yes"
    msg = render_consent(
        request(
            customer={"contact_name": evil, "name": "Contoso\nSubject: pwned"},
            partner={"contact_name": "Pat\rCc: other@evil.example", "name": "Fab\r\nrikam"},
        ),
        AS_OF,
    )
    raw = msg.as_bytes()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    names = [
        line.split(b":", 1)[0] for line in header_block.split(b"\r\n") if line and line[:1] not in b" \t"
    ]
    assert sorted(names) == sorted(
        [
            b"From",
            b"To",
            b"Reply-To",
            b"Subject",
            b"Date",
            b"Message-ID",
            b"X-Unsent",
            b"MIME-Version",
            b"Content-Type",
        ]
    )
    parsed = reparse(msg)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["casey@contoso.example"]
    assert parsed["Bcc"] is None and parsed["Cc"] is None and parsed["X-Injected"] is None
    assert "\n" not in str(parsed["Subject"]) and "Contoso Subject: pwned" in str(parsed["Subject"])
    assert parsed["To"].addresses[0].display_name == "Casey Bcc: attacker@evil.example X-Injected: yes"


def test_commas_and_quotes_in_display_names_stay_one_recipient() -> None:
    msg = reparse(
        render_consent(
            request(
                customer={"contact_name": 'Doe, John "JD" <boss@evil.example>'},
                partner={"contact_name": "Pat, P."},
            ),
            AS_OF,
        )
    )
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ('Doe, John "JD" <boss@evil.example>', "casey@contoso.example")
    ]
    assert [(a.display_name, a.addr_spec) for a in msg["From"].addresses] == [
        ("Pat, P.", "pat@fabrikam.example")
    ]


HEADER_NAMES = sorted(
    ["From", "To", "Reply-To", "Subject", "Date", "Message-ID", "X-Unsent", "MIME-Version", "Content-Type"]
)


def read_back(rendered: ConsentEmail) -> tuple[EmailMessage, list[tuple[str, str]]]:
    """The parsed message, and (display name, address) of its From, To and Reply-To, checking on the way
    that the file is ASCII with CRLF line ends only and that the parser found nothing wrong.

    Display names are decoded as RFC 2047 says (and Outlook does): the space between two adjacent encoded
    words is not part of the name. Python 3.11's address parser keeps it, so a long name split over two
    encoded words gains a space there; its addresses are compared, not those display names."""
    raw = rendered.as_bytes()
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    msg = reparse(rendered)
    assert sorted(msg.keys()) == HEADER_NAMES
    assert [h for name in ("From", "To", "Reply-To", "Subject") for h in msg[name].defects] == []
    assert [p.defects for p in msg.walk()] == [[], [], []]
    as_written = email.message_from_bytes(raw, policy=email.policy.compat32)
    pairs = [
        (str(email.header.make_header(email.header.decode_header(phrase))), address)
        for name in ("From", "To", "Reply-To")
        for phrase, address in email.utils.getaddresses(as_written.get_all(name, []))
    ]
    assert [a for _, a in pairs] == [
        a.addr_spec for name in ("From", "To", "Reply-To") for a in msg[name].addresses
    ]
    return msg, pairs


@pytest.mark.parametrize(
    "name",
    [
        "Doe, John (IT) " * 12,  # long, with specials: a quoted string too long for a line
        "Łukasz Żółć-Wiśniewska " * 8,  # long, not ASCII
        "x" * 300,  # one word longer than any line
        "=?utf-8?b?QmNjOiB4QGV2aWwuZXhhbXBsZQ==?=",  # text that would read back as an encoded word
        'back\\slash "quoted" <no@evil.example>',
        "日本語の名前 株式会社",
        "Ωmega\u2028Line\u0085Next\tTab",
    ],
)
def test_long_or_odd_names_fold_into_short_ascii_lines_and_read_back_exactly(name: str) -> None:
    rendered = render_consent(
        request(customer={"contact_name": name, "name": name}, partner={"contact_name": name}), AS_OF
    )
    # every line of the file, headers and quoted-printable bodies, within RFC 5322's 78 characters
    assert max(len(line) for line in rendered.as_bytes().split(b"\r\n")) <= 78
    msg, addresses = read_back(rendered)
    clean = one_line(name)
    assert addresses == [
        (clean, "pat@fabrikam.example"),
        (clean, "casey@contoso.example"),
        (clean, "pat@fabrikam.example"),
    ]
    assert str(msg["Subject"]) == rendered.subject and clean in rendered.subject
    assert clean in parts(msg)[0]


@settings(max_examples=80, deadline=None)
@given(contact=st.text(max_size=120), company=st.text(min_size=1, max_size=80))
def test_any_name_reads_back_as_the_one_recipient_with_that_name(contact: str, company: str) -> None:
    rendered = render_consent(
        request(customer={"contact_name": contact, "name": company}, partner={"contact_name": company}), AS_OF
    )
    msg, addresses = read_back(rendered)
    assert addresses == [
        (one_line(company), "pat@fabrikam.example"),
        (one_line(contact), "casey@contoso.example"),
        (one_line(company), "pat@fabrikam.example"),
    ]
    assert str(msg["Subject"]) == rendered.subject and one_line(company) in rendered.subject
    assert (rendered.to, rendered.message_id) == ("casey@contoso.example", msg["Message-ID"])


def test_a_renderer_checks_each_address_once_and_refuses_a_bad_one_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[str] = []
    real = render_module._normalised_address

    def counting(address: str) -> Any:
        checked.append(address)
        return real(address)

    monkeypatch.setattr(render_module, "_normalised_address", counting)
    renderer = ConsentRenderer()
    first = [renderer.render(request(claim_id=f"CLM-{n}"), AS_OF) for n in range(3)]
    renderer.render(request(customer={"contact_email": "other@contoso.example"}), AS_OF)
    for what, changes in [
        ("customer Contact Email", {"customer": {"contact_email": "casey at contoso"}}),
        ("customer Contact Email", {"customer": {"contact_email": "casey at contoso"}}),
        ("Partner Contact Email", {"partner": {"contact_email": "casey at contoso"}}),
    ]:
        with pytest.raises(DraftRefused, match=f"{what} 'casey at contoso' is not a valid"):
            renderer.render(request(**changes), AS_OF)
    assert sorted(checked) == sorted(
        ["casey@contoso.example", "pat@fabrikam.example", "other@contoso.example", "casey at contoso"]
    )
    # one renderer for many claims writes what rendering each claim alone writes
    assert [m.as_bytes() for m in first] == [
        render_consent(request(claim_id=f"CLM-{n}"), AS_OF).as_bytes() for n in range(3)
    ]
    assert len({m.message_id for m in first}) == 3


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(
        r"[A-Za-z0-9_%+'.-]{1,12}@([A-Za-z0-9-]{1,9}\.){1,3}(test|local|[A-Za-z]{1,7}|[A-Za-z0-9]{2,4})",
        fullmatch=True,
    )
)
def test_an_address_is_written_as_email_validator_normalises_it_or_refused_as_it_refuses(
    address: str,
) -> None:
    try:
        valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        with pytest.raises(DraftRefused, match="is not a valid email address"):
            checked_address(address, "customer Contact Email")
        return
    assert checked_address(address, "customer Contact Email") == valid.ascii_email


def test_script_in_a_customer_name_is_escaped_in_html_and_kept_as_text_in_the_text_part() -> None:
    name = "<script>alert('x')</script> & Co"
    text, html = parts(render_consent(request(customer={"name": name}), AS_OF))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in html
    assert name in text


def test_unicode_names_survive_the_round_trip() -> None:
    msg = reparse(
        render_consent(
            request(
                customer={"name": "Zoë Ångström & Søn GmbH", "contact_name": "Łukasz Żółć", "language": "de"},
                partner={"contact_name": "Renée Müller", "name": "Straße IT"},
            ),
            AS_OF,
        )
    )
    assert msg["To"].addresses[0].display_name == "Łukasz Żółć"
    assert msg["From"].addresses[0].display_name == "Renée Müller"
    assert "Zoë Ångström & Søn GmbH" in str(msg["Subject"])
    text, html = parts(msg)
    assert "Guten Tag Łukasz Żółć" in text and "Zoë Ångström &amp; Søn GmbH" in html


def test_an_international_domain_is_written_in_its_ascii_form() -> None:
    msg = reparse(render_consent(request(customer={"contact_email": "Casey@Bücher.example"}), AS_OF))
    assert [a.addr_spec for a in msg["To"].addresses] == ["Casey@xn--bcher-kva.example"]


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"customer": {"contact_email": "not-an-address"}}, "customer Contact Email"),
        ({"customer": {"contact_email": "a@b.example, c@d.example"}}, "customer Contact Email"),
        (
            {"customer": {"contact_email": "casey@contoso.example\r\nBcc: x@evil.example"}},
            "customer Contact Email",
        ),
        ({"partner": {"contact_email": "pat@"}}, "Partner Contact Email"),
        ({"customer": {"contact_email": "zoë@contoso.example"}}, "customer Contact Email"),
    ],
)
def test_a_bad_address_is_refused_not_mailed(changes: dict[str, Any], names: str) -> None:
    with pytest.raises(DraftRefused, match=names):
        render_consent(request(**changes), AS_OF)


def test_the_shipped_templates_load_from_the_package() -> None:
    shipped = sorted(
        p.name
        for p in resources.files("cpor_excel.templates").iterdir()
        if p.name.startswith("consent_request.")
    )
    assert shipped == sorted(
        f"consent_request.{lang}.{kind}.j2" for lang in LANGUAGES for kind in ("txt", "html")
    )


def test_a_partner_folder_overrides_templates_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "consent_request.en.txt.j2").write_text(
        "{% set subject %}Our note for {{ customer.name }} ({{ customer.tenant_id }}){% endset %}"
        "Hello {{ customer.contact_name }}: {{ workloads | join(', ') }}\n",
        encoding="utf-8",
    )
    msg = reparse(render_consent(request(), AS_OF, templates_dir=tmp_path))
    text, html = parts(msg)
    assert str(msg["Subject"]) == f"Our note for Contoso Ltd ({TENANT})"
    assert text == "Hello Casey Customer: Exchange Online, Microsoft Teams\n"
    assert "What happens next" in html  # the shipped HTML template, given the partner's subject
    assert f"<title>Our note for Contoso Ltd ({TENANT})</title>" in html


def test_a_partner_can_add_a_language(tmp_path: Path) -> None:
    (tmp_path / "consent_request.it.txt.j2").write_text(
        "{% set subject %}Avviso per {{ customer.name }}{% endset %}Gentile {{ customer.contact_name }}\n",
        "utf-8",
    )
    (tmp_path / "consent_request.it.html.j2").write_text(
        "<p>Gentile {{ customer.contact_name }}</p>\n", "utf-8"
    )
    msg = reparse(render_consent(request(customer={"language": "it"}), AS_OF, templates_dir=tmp_path))
    assert str(msg["Subject"]) == "Avviso per Contoso Ltd"
    assert parts(msg)[1] == "<p>Gentile Casey Customer</p>\n"
    # with only half of the pair the email stays in one language: English
    (tmp_path / "consent_request.it.html.j2").unlink()
    msg = reparse(render_consent(request(customer={"language": "it"}), AS_OF, templates_dir=tmp_path))
    assert '<html lang="en">' in parts(msg)[1] and "Avviso" not in str(msg["Subject"])


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "{% set subject %}S{% endset %}Hello {{ customer.nickname }}\n",
            r"consent_request\.en\.txt\.j2.*nickname",
        ),
        ("{% set subject %}S{% endset %}{{ nothing_here }}\n", r"consent_request\.en\.txt\.j2.*nothing_here"),
        ("{% if %}\n", r"consent_request\.en\.txt\.j2"),
        ("Hello, no subject\n", r"consent_request\.en\.txt\.j2 does not set a subject"),
    ],
)
def test_a_broken_override_is_a_cannot_run_error_naming_the_file(
    tmp_path: Path, source: str, expected: str
) -> None:
    (tmp_path / "consent_request.en.txt.j2").write_text(source, encoding="utf-8")
    with pytest.raises(CporError, match=expected):
        render_consent(request(), AS_OF, templates_dir=tmp_path)


def test_a_missing_templates_folder_is_a_cannot_run_error(tmp_path: Path) -> None:
    with pytest.raises(CporError, match="does not exist"):
        render_consent(request(), AS_OF, templates_dir=tmp_path / "nope")


#: each language's "you may decline at any time" (the templates' own words) and how it says "from approval"
ANY_TIME = {
    "en": ("You may decline at any time.", "from Microsoft's approval of the association"),
    "de": ("Sie können jederzeit ablehnen.", "ab der Genehmigung der Zuordnung durch Microsoft"),
    "fr": ("Vous pouvez refuser à tout moment.", "à compter de l'approbation de l'association par Microsoft"),
    "nl": ("U kunt op elk moment weigeren.", "na goedkeuring van de koppeling door Microsoft"),
    "es": (
        "Puede rechazarla en cualquier momento.",
        "desde la aprobación de la asociación por parte de Microsoft",
    ),
}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("starts", ["Submitted", "Approved"])
def test_the_drafts_say_the_customer_may_decline_at_any_time(language: str, starts: str) -> None:
    # a claim not approved yet: with the window from approval there is no end date to give, only its length
    ends = dt.date(2025, 4, 7) if starts == "Submitted" else None
    rendered = render_consent(
        request(customer={"language": language}, window_starts=starts, window_ends=ends), AS_OF
    )
    any_time, from_approval = ANY_TIME[language]
    for body in parts(rendered):
        assert any_time in body.replace("&#39;", "'")
        assert (from_approval in body.replace("&#39;", "'")) == (starts == "Approved")
        assert ("7" in body and "2025" in body) or starts == "Approved"
