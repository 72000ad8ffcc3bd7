"""Data dictionaries and PII hints from column NAMES and kinds only (never values).

The hints add to the datasets service's detector, which samples values: a name such as
``salary`` or ``diagnosis`` says a column is sensitive even when its values look innocuous.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sds_llm.domain.models import DictionaryEntry, PiiHint, Sensitivity

#: Name words → (PII kind, why). Kinds the datasets detector already uses keep its names.
NAME_PII: Final[dict[str, tuple[str, str]]] = {
    "name": ("person_name", "names identify people"),
    "firstname": ("person_name", "names identify people"),
    "lastname": ("person_name", "names identify people"),
    "surname": ("person_name", "names identify people"),
    "email": ("email", "an email address identifies a person"),
    "phone": ("phone", "a phone number identifies a person"),
    "mobile": ("phone", "a phone number identifies a person"),
    "ssn": ("national_id", "a national id identifies a person"),
    "passport": ("national_id", "a national id identifies a person"),
    "address": ("address", "an address locates a person"),
    "street": ("address", "an address locates a person"),
    "zip": ("postal_code", "a postal code narrows a person down"),
    "postcode": ("postal_code", "a postal code narrows a person down"),
    "dob": ("birth_date", "a birth date is a strong quasi-identifier"),
    "birth": ("birth_date", "a birth date is a strong quasi-identifier"),
    "ip": ("ip_address", "an IP address can identify a device or person"),
    "iban": ("iban", "an account number identifies a person"),
    "card": ("card_number", "a card number is financial personal data"),
    "lat": ("geolocation", "coordinates can locate a person"),
    "latitude": ("geolocation", "coordinates can locate a person"),
    "lon": ("geolocation", "coordinates can locate a person"),
    "longitude": ("geolocation", "coordinates can locate a person"),
    "username": ("account_id", "a user name identifies an account holder"),
    "login": ("account_id", "a login identifies an account holder"),
    "customer": ("account_id", "a customer id links rows to a person"),
    "patient": ("account_id", "a patient id links rows to a person"),
    "employee": ("account_id", "an employee id links rows to a person"),
    "account": ("account_id", "an account id links rows to a person"),
    "diagnosis": ("health", "health data is a special category (GDPR art. 9)"),
    "disease": ("health", "health data is a special category (GDPR art. 9)"),
    "medication": ("health", "health data is a special category (GDPR art. 9)"),
    "salary": ("financial", "income is sensitive financial data"),
    "income": ("financial", "income is sensitive financial data"),
    "race": ("special_category", "racial or ethnic origin is a special category"),
    "ethnicity": ("special_category", "racial or ethnic origin is a special category"),
    "religion": ("special_category", "religious belief is a special category"),
    "gender": ("quasi_identifier", "combined with age and place it narrows people down"),
    "sex": ("quasi_identifier", "combined with age and place it narrows people down"),
    "age": ("quasi_identifier", "combined with sex and place it narrows people down"),
}
SPECIAL: Final = frozenset({"health", "special_category", "financial", "national_id"})
_WORDS = re.compile(r"[A-Za-z][a-z]*|[A-Z]+(?![a-z])|\d+")

#: Name words → what a column of that name usually holds.
MEANINGS: Final[dict[str, str]] = {
    "id": "an identifier of the row's entity",
    "age": "age, usually in years",
    "date": "a calendar date",
    "time": "a point in time",
    "year": "a calendar year",
    "income": "income, a money amount",
    "salary": "salary, a money amount",
    "price": "a price, a money amount",
    "amount": "a money amount",
    "count": "a count of something",
    "status": "the state of a record",
    "type": "a category of the record",
    "country": "a country",
    "city": "a city",
    "education": "level of education",
    "occupation": "job or occupation",
    "gender": "gender",
    "sex": "sex",
    "race": "racial or ethnic group",
    "hours": "a number of hours",
    "score": "a score or rating",
    "label": "a class label, often the prediction target",
    "target": "the prediction target",
    "email": "an email address",
    "phone": "a phone number",
    "name": "a person's or entity's name",
}
_KIND_MEANING: Final = {
    "numeric": "a numeric measurement",
    "categorical": "a category",
    "boolean": "a yes/no flag",
    "datetime": "a date or time",
    "identifier": "an identifier (unique per row or entity)",
    "text": "free text",
}


def words(name: str) -> list[str]:
    """The lower-case words of a column name (snake_case, camelCase, kebab-case)."""
    return [w.lower() for w in _WORDS.findall(name)]


def name_pii(name: str) -> list[tuple[str, str]]:
    """PII kinds the name hints at, with the reason, most specific first, no duplicates."""
    found: dict[str, str] = {}
    parts = words(name)
    for word in [*parts, "".join(parts)]:
        if word in NAME_PII:
            kind, why = NAME_PII[word]
            found.setdefault(kind, why)
    return list(found.items())


def meaning(name: str, kind: str) -> str:
    """A guessed meaning from the name's words, else from the kind."""
    for word in reversed(words(name)):
        if word in MEANINGS:
            return MEANINGS[word]
    return _KIND_MEANING.get(kind, "a value")


def sensitivity(pii: Sequence[str]) -> Sensitivity:
    """How carefully a column must be handled, from its PII kinds."""
    kinds = set(pii)
    if kinds & SPECIAL:
        return "sensitive"
    if kinds - {"quasi_identifier"}:
        return "personal"
    if kinds:
        return "internal"
    return "public"


def entries(columns: Sequence[Mapping[str, Any]]) -> list[DictionaryEntry]:
    """Dictionary entries of redacted schema facts (see ``redaction.schema_facts``)."""
    out: list[DictionaryEntry] = []
    for column in columns:
        name, kind = str(column["name"]), str(column["kind"])
        pii = list(dict.fromkeys([*column.get("pii", []), *(k for k, _ in name_pii(name))]))
        out.append(
            DictionaryEntry(
                name=name,
                kind=kind,
                meaning=meaning(name, kind),
                missing_fraction=float(column.get("missing_fraction", 0.0)),
                sensitivity=sensitivity(pii),
                pii=pii,
            )
        )
    return out


def hints(columns: Sequence[Mapping[str, Any]]) -> list[PiiHint]:
    """Name-based PII hints; ``already_detected`` says the datasets detector found that kind."""
    out: list[PiiHint] = []
    for column in columns:
        detected = set(column.get("pii", []))
        for kind, why in name_pii(str(column["name"])):
            out.append(
                PiiHint(
                    column=str(column["name"]),
                    kind=kind,
                    reason=f"the name suggests {kind.replace('_', ' ')}: {why}",
                    already_detected=kind in detected,
                )
            )
    return out
