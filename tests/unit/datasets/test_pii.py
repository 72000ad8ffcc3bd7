"""Personal data detection: checksums, patterns, name hints, and no raw values in the profile."""

from __future__ import annotations

import json

import pytest

from sds_datasets.domain.pii import (
    classify_value,
    detect_name,
    detect_values,
    iban_valid,
    luhn_valid,
)
from tests.unit.datasets.conftest import Prepare, column

VALID_CARDS = ["4111111111111111", "5500 0000 0000 0004", "3400-000000-00009", "6011000990139424"]


@pytest.mark.parametrize("card", VALID_CARDS)
def test_valid_card_numbers(card: str) -> None:
    assert classify_value(card) == "card_number"


@pytest.mark.parametrize("card", ["4111111111111112", "5500 0000 0000 0005", "1234567812345678"])
def test_luhn_invalid_card_numbers_are_not_cards(card: str) -> None:
    assert classify_value(card) != "card_number"


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


@pytest.mark.parametrize(
    "iban", ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "fr1420041010050500013m02606"]
)
def test_valid_ibans(iban: str) -> None:
    assert iban_valid(iban)
    assert classify_value(iban) == "iban"


@pytest.mark.parametrize("iban", ["GB82 WEST 1234 5698 7654 33", "DE89370400440532013001"])
def test_ibans_failing_mod97(iban: str) -> None:
    assert not iban_valid(iban)
    assert classify_value(iban) != "iban"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("ada.lovelace@example.org", "email"),
        ("o'brien+tag@mail.co.uk", "email"),
        ("+14155552671", "phone"),
        ("+44 20 7946 0958", "phone"),
        ("(415) 555-2671", "phone"),
        ("01 23 45 67 89", "phone"),
        ("123-45-6789", "national_id"),
        ("2 55 08 2A 123 456 26", None),  # a NIR with a wrong key
        ("192.168.1.20", "ipv4"),
        ("2001:db8::8a2e:370:7334", "ipv6"),
        ("2024-01-31", None),
        ("12.5", None),
        ("42", None),
        ("hello world", None),
        ("000-12-3456", None),  # SSNs never start with 000
    ],
)
def test_value_kinds(value: str, kind: str | None) -> None:
    assert classify_value(value) == kind


def test_french_nir_checksum() -> None:
    body = "1850578006084"
    key = 97 - int(body) % 97
    assert classify_value(f"{body}{key:02d}") == "national_id"
    assert classify_value(f"{body}{(key % 97) + 1:02d}") is None


def test_shares_and_threshold() -> None:
    values = ["a@b.co"] * 3 + ["x"] * 97
    assert detect_values(values) == []  # 3% is below the 5% floor
    [finding] = detect_values(["a@b.co"] * 30 + ["x"] * 70)
    assert (finding.kind, finding.share) == ("email", 0.3)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Email", "email"),
        ("first_name", "person_name"),
        ("lastName", "person_name"),
        ("phone_number", "phone"),
        ("SSN", "national_id"),
        ("home address", "address"),
        ("dob", "birth_date"),
        ("date_of_birth", "birth_date"),
        ("zip", "postal_code"),
        ("postcode", "postal_code"),
        ("client_ip", "ip_address"),
    ],
)
def test_column_name_hints(name: str, kind: str) -> None:
    assert [f.kind for f in detect_name(name)] == [kind]


@pytest.mark.parametrize("name", ["age", "education-num", "native-country", "income", "zipper"])
def test_names_without_hints(name: str) -> None:
    assert detect_name(name) == []


def test_pii_columns_never_leak_values_into_the_profile(prepare: Prepare) -> None:
    rows = [
        f"user{i}@example.com,{VALID_CARDS[i % 4].replace(' ', '').replace('-', '')},"
        f"{['red', 'blue'][i % 2]},{i % 3}"
        for i in range(40)
    ]
    prepared = prepare("contact,payment,colour,n\n" + "\n".join(rows) + "\n")
    facts = {c.name: c.pii for c in prepared.columns}
    assert facts == {"contact": ("email",), "payment": ("card_number",), "colour": (), "n": ()}
    payment = column(prepared, "payment")
    assert payment["pii"] == [{"kind": "card_number", "source": "values", "share": 1.0}]
    assert "values_withheld" in payment
    assert not {"min", "max", "top", "quantiles"} & set(payment)
    text = json.dumps(prepared.profile)
    assert "example.com" not in text
    assert "4111111111111111" not in text
    assert column(prepared, "colour")["top"]
