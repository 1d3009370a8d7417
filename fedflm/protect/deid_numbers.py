"""Number-shaped PII recognizers that do not depend on letter case or on one layout.

* :class:`CardNumberRecognizer` - payment card numbers of every issued length
  (12-19 digits), compact or grouped by spaces/dashes, accepted when the Luhn
  check passes and the number lies in an issuer (IIN) range valid for its length.
* :class:`SsnRecognizer` - US social security numbers, with no exemption for
  published sample numbers (``078-05-1120`` is masked like any other).
* :class:`AnyCaseIbanRecognizer` - IBANs of any country in any letter case,
  compact or grouped, checked with mod-97 (the longest valid prefix wins).
"""

from __future__ import annotations

import regex as re

from fedflm.protect.deid_recognizers import RegexRecognizer, iban_checksum_ok, luhn_ok

# (first digits range low, high, allowed lengths) - ISO/IEC 7812 issuer ranges in use
_IIN_RANGES: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (4, 4, (13, 16, 19)),                            # Visa
    (51, 55, (16,)), (2221, 2720, (16,)),            # Mastercard
    (34, 34, (15,)), (37, 37, (15,)),                # American Express
    (6011, 6011, (16, 17, 18, 19)), (644, 649, (16, 17, 18, 19)), (65, 65, (16, 17, 18, 19)),  # Discover
    (3528, 3589, (16, 17, 18, 19)), (2131, 2131, (15,)), (1800, 1800, (15,)),  # JCB
    (300, 305, (14, 15, 16, 17, 18, 19)), (36, 36, (14, 15, 16, 17, 18, 19)),  # Diners Club
    (38, 39, (14, 15, 16, 17, 18, 19)),
    (50, 50, tuple(range(12, 20))), (56, 69, tuple(range(12, 20))),           # Maestro et al.
    (62, 62, (16, 17, 18, 19)),                      # UnionPay
    (2200, 2204, (16, 17, 18, 19)),                  # Mir
    (1, 1, (15,)),                                   # UATP
    (81, 82, (16,)), (508, 508, (16,)), (353, 353, (16,)), (356, 356, (16,)),  # RuPay
)
_CARD = re.compile(r"(?<![\d+(/.-])\d(?:[ -]?\d){11,18}(?![\d/]|[.-]\d)")


def iin_ok(digits: str) -> bool:
    """True if ``digits`` starts in an issuer range that issues numbers of its length."""
    n = len(digits)
    for low, high, lengths in _IIN_RANGES:
        width = len(str(low))
        if n in lengths and low <= int(digits[:width]) <= high:
            return True
    return False


class CardNumberRecognizer(RegexRecognizer):
    """Card numbers of 12-19 digits: Luhn-valid and in an issuer range for that length."""

    ENTITY = "CREDIT_CARD"
    CONTEXT = ("card", "credit", "debit", "visa", "mastercard", "amex", "charged", "cc")

    def find(self, text: str):
        for m in _CARD.finditer(text):
            value = m.group(0)
            digits = "".join(c for c in value if c.isdigit())
            seps = {c for c in value if not c.isdigit()}
            if len(seps) <= 1 and luhn_ok(digits) and iin_ok(digits):
                yield m.start(), m.end(), 0.9


_SSN = re.compile(r"(?<![\d-])(\d{3})([- .])(\d{2})\2(\d{4})(?![\d-])|(?<![\d-])\d{9}(?![\d-])")


class SsnRecognizer(RegexRecognizer):
    """US SSNs: ``123-45-6789`` style (0.6), nine bare digits only next to a cue (0.3 + context)."""

    ENTITY = "US_SSN"
    CONTEXT = ("ssn", "social security", "social-security", "ss#", "ss #", "taxpayer", "tin")

    def find(self, text: str):
        for m in _SSN.finditer(text):
            digits = "".join(c for c in m.group(0) if c.isdigit())
            if digits[:3] in ("000", "666") or digits[0] == "9" or digits[3:5] == "00" or digits[5:] == "0000":
                continue
            yield m.start(), m.end(), 0.6 if m.group(1) else 0.3


_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}")


class AnyCaseIbanRecognizer(RegexRecognizer):
    """IBANs in any case, compact or grouped; the longest mod-97-valid prefix is the match."""

    ENTITY = "IBAN_CODE"
    CONTEXT = ("iban", "account", "transfer", "bank")

    def find(self, text: str):
        for m in _IBAN.finditer(text):
            value = m.group(0).upper()
            ends = [i + 1 for i, c in enumerate(value) if c != " " and (i + 1 == len(value) or value[i + 1] == " ")]
            ends += [len(value)]
            for end in sorted(set(ends), reverse=True):
                compact = value[:end].replace(" ", "")
                if 15 <= len(compact) <= 34 and iban_checksum_ok(compact):
                    yield m.start(), m.start() + end, 0.9
                    break
