"""Microsoft's ineligibility reason codes, in plain words, with whether the partner can do something about them.

Source: the "Ineligibility reason codes" table of Partner Center's Revenue page
(learn.microsoft.com/partner-center/earnings/earnings-revenue, 2023-09; DOMAIN.md "From FY24"). The codes are
Microsoft's; the wording here is the tool's own summary of that table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    words: str  # what the code means, in a partner's words
    can_act: bool  # Microsoft's "Can Partner take action?"
    action: str  # what to do (or why nothing can be done)


REASONS: dict[str, Reason] = {
    "CUSPUBSEC": Reason(
        "the customer is in the public sector",
        True,
        "for customers in the United States, Puerto Rico or India, answer Microsoft's proof-of-execution request "
        "or dispute through support within 90 days; a rejected POE cannot be made eligible again",
    ),
    "CUSNOTNEW": Reason(
        "the customer tenant was created outside the valid period", False, "nothing, by policy"
    ),
    "IVDADV": Reason(
        "an advanced specialization the engagement requires is missing", True, "attain the specialization"
    ),
    "IVDCOMP": Reason(
        "a competency the engagement requires is missing or expired",
        True,
        "check Competencies against the engagement's requirements",
    ),
    "IVDCOSELL": Reason(
        "co-sell eligibility is not established or has expired", True, "establish co-sell eligibility"
    ),
    "IVDMPA": Reason(
        "the Microsoft Partner Agreement is not signed or has expired",
        True,
        "sign the Microsoft Partner Agreement",
    ),
    "IVDMPN": Reason("the Partner ID may not take part in the engagement", False, "nothing, by policy"),
    "IVDGEO": Reason(
        "the partner's location may not take part in the engagement", False, "nothing, by policy"
    ),
    "IVDCUST": Reason(
        "the customer already earned a customer-add incentive",
        False,
        "nothing: a customer adds once, for any partner",
    ),
    "CUSEQPTR": Reason("the partner is the customer", False, "nothing: a sale to oneself does not earn"),
    "CHREVNONCH": Reason("China revenue with a partner outside China", False, "nothing, by policy"),
    "IVDPTRROLE": Reason(
        "the partner role does not earn",
        False,
        "nothing for this claim (Modern Work usage earns only with the role Use or consume)",
    ),
    "IVDPOE": Reason(
        "the proof of execution is not approved",
        True,
        "answer the proof-of-execution request; once a response is rejected it cannot be made eligible again",
    ),
    "INVTNXACO": Reason("the customer has an active Azure credit offer", False, "nothing, by policy"),
    "PAULWPHWM": Reason(
        "paid units were at or below the prior high-water mark", False, "nothing: there was no growth to pay"
    ),
    "MAULWPHWM": Reason(
        "active users were at or below the prior high-water mark",
        False,
        "nothing: there was no growth to pay",
    ),
    "IVDCLD": Reason("the cloud is not eligible", False, "nothing, by policy"),
    "MINTHNTMT": Reason(
        "the growth above the high-water mark was below the minimum",
        False,
        "nothing: the growth was too small",
    ),
    # not on Microsoft's page: the SPEC's code for the Rate Card's Max Paid Users, which the tool also reports
    "MAXUNITS": Reason(
        "the most users the workload pays for have been paid", False, "nothing: the cap is reached"
    ),
    "MXTMCPMT": Reason(
        "the time cap since the claim was attached has been reached",
        False,
        "nothing: the claim has earned its time",
    ),
}


def reason(code: str) -> Reason:
    """The reason a code gives; one Microsoft has not published is said to be unknown."""
    found = REASONS.get(code.strip().upper())
    if found is not None:
        return found
    return Reason(
        f"reason code {code} is not in Microsoft's published list",
        True,
        "ask Microsoft through Partner Center support",
    )


def in_words(codes: str) -> tuple[str, str]:
    """'PAULWPHWM; CUSPUBSEC' -> (the reasons in words, whether the partner can act: 'yes', 'no' or 'yes (some)')."""
    found = [reason(c) for c in codes.replace(",", ";").split(";") if c.strip()]
    if not found:
        return "", ""
    words = "; ".join(f"{r.words} ({r.action})" for r in found)
    acts = {r.can_act for r in found}
    return words, "yes" if acts == {True} else "no" if acts == {False} else "yes (some)"
