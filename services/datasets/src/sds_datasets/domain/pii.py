"""Personal data detectors: value patterns with checksums where one exists, and column-name hints.

Each sampled value counts for at most one kind, tried from the most specific (a checksum or a
rigid shape) to the loosest (phone numbers), so ``123-45-6789`` is a US SSN and not also a phone.
A kind is reported when at least ``MIN_SHARE`` of the sampled values match it. The detectors see
values only to count matches; what they return holds kinds and shares, never a value.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

MIN_SHARE: Final = 0.05

_EMAIL: Final = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_US_SSN: Final = re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
_FR_NIR: Final = re.compile(r"^[12]\d{4}(\d{2}|2A|2B)\d{8}$")
_IBAN: Final = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_CARD: Final = re.compile(r"^\d{13,19}$")
_PHONE_CHARS: Final = re.compile(r"^\+?[\d\s().-]{7,24}$")
_ISO_DATE: Final = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
_SEPARATORS: Final = re.compile(r"[\s().-]")
_SSN_SHAPE: Final = re.compile(r"^\d{3}-\d{2}-\d{4}$")

#: Column-name words and the kind each hints at.
NAME_HINTS: Final = {
    "name": "person_name",
    "firstname": "person_name",
    "lastname": "person_name",
    "fullname": "person_name",
    "surname": "person_name",
    "forename": "person_name",
    "email": "email",
    "mail": "email",
    "phone": "phone",
    "telephone": "phone",
    "tel": "phone",
    "mobile": "phone",
    "ssn": "national_id",
    "nir": "national_id",
    "nino": "national_id",
    "passport": "national_id",
    "address": "address",
    "street": "address",
    "dob": "birth_date",
    "birth": "birth_date",
    "birthday": "birth_date",
    "birthdate": "birth_date",
    "zip": "postal_code",
    "zipcode": "postal_code",
    "postcode": "postal_code",
    "postal": "postal_code",
    "ip": "ip_address",
    "iban": "iban",
    "card": "card_number",
    "ccn": "card_number",
}


@dataclass(frozen=True, slots=True)
class PiiFinding:
    """One kind of personal data found in a column.

    Attributes:
        kind: e.g. ``email``, ``card_number``, ``person_name``.
        source: ``values`` (matched sampled values) or ``column_name`` (a hint in the name).
        share: the share of sampled non-missing values that matched (None for a name hint).
    """

    kind: str
    source: str
    share: float | None = None

    def as_json(self) -> dict[str, str | float | None]:
        """The finding as it appears in ``profile.json``."""
        return {"kind": self.kind, "source": self.source, "share": self.share}


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of payment card numbers."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """The ISO 13616 mod-97 check of an IBAN (spaces allowed, case-insensitive)."""
    compact = text.replace(" ", "").upper()
    if not _IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def _is_iban(value: str) -> bool:
    return len(value) >= 15 and value[:2].isalpha() and iban_valid(value)


def _is_card(value: str) -> bool:
    digits = re.sub(r"[ -]", "", value)
    return bool(_CARD.match(digits)) and len(set(digits)) > 1 and luhn_valid(digits)


def _is_us_ssn(value: str) -> bool:
    return bool(_US_SSN.match(value))


def _is_fr_nir(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    if not _FR_NIR.match(compact):
        return False
    body = compact[:13].replace("2A", "19").replace("2B", "18")
    return 97 - int(body) % 97 == int(compact[13:])


def _is_ip(value: str) -> str | None:
    if not (":" in value or value.count(".") == 3):
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return f"ipv{address.version}"


def _is_phone(value: str) -> bool:
    if not _PHONE_CHARS.match(value) or _ISO_DATE.match(value) or _SSN_SHAPE.match(value):
        return False
    digits = re.sub(r"\D", "", value)
    if not 8 <= len(digits) <= 15:
        return False
    # A bare run of digits is more often an amount or a code than a phone number: ask for the
    # international "+", a national trunk "0", or the separators people write phones with.
    return value.startswith(("+", "0")) or bool(_SEPARATORS.search(value))


_DETECTORS: Final[tuple[tuple[str, Callable[[str], bool]], ...]] = (
    ("email", _is_email),
    ("iban", _is_iban),
    ("card_number", _is_card),
    ("national_id", _is_us_ssn),
    ("national_id", _is_fr_nir),
    ("phone", _is_phone),
)


def classify_value(value: str) -> str | None:
    """The PII kind of one value, or None."""
    value = value.strip()
    ip = _is_ip(value)
    if ip is not None:
        return ip
    for kind, detect in _DETECTORS:
        if detect(value):
            return kind
    return None


def detect_values(values: Iterable[str]) -> list[PiiFinding]:
    """Kinds matched by at least ``MIN_SHARE`` of ``values`` (a sample of non-missing values)."""
    counts: Counter[str] = Counter()
    total = 0
    for value in values:
        total += 1
        kind = classify_value(value)
        if kind is not None:
            counts[kind] += 1
    if total == 0:
        return []
    return [
        PiiFinding(kind=kind, source="values", share=round(count / total, 4))
        for kind, count in sorted(counts.items())
        if count / total >= MIN_SHARE
    ]


def name_words(column: str) -> list[str]:
    """The words of a column name: ``firstName``, ``first_name``, ``First Name`` → first, name."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", column)
    words = [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]
    joined = "".join(words)
    return [*words, joined] if len(words) > 1 else words


def detect_name(column: str) -> list[PiiFinding]:
    """Kinds the column's name hints at."""
    kinds = {NAME_HINTS[word] for word in name_words(column) if word in NAME_HINTS}
    return [PiiFinding(kind=kind, source="column_name") for kind in sorted(kinds)]
