"""Text formats: encodings, delimiters, quoting, missing markers, JSON Lines and Parquet."""

from __future__ import annotations

import codecs
import io
import random

import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pytest

from tests.unit.datasets.conftest import Prepare, Reject, column

TABLE = "name;city;score\nAnna;Lyon;1.5\nBen;Paris;2.5\nCleo;Nice;3.0\n"


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_delimiter_is_detected(prepare: Prepare, delimiter: str) -> None:
    prepared = prepare(TABLE.replace(";", delimiter))
    assert [c.name for c in prepared.columns] == ["name", "city", "score"]
    assert column(prepared, "score")["kind"] == "numeric"
    names = {";": "semicolon", "\t": "tab", "|": "pipe", ",": "comma"}
    assert prepared.profile["delimiter"] == names[delimiter]


def test_semicolon_file_with_decimal_commas_in_quotes(prepare: Prepare) -> None:
    prepared = prepare('a;b;c\n"1,5";x;1\n"2,5";y;2\n"3,5";z;3\n')
    assert prepared.profile["delimiter"] == "semicolon"
    assert len(prepared.columns) == 3


def test_tsv_declared(prepare: Prepare) -> None:
    prepared = prepare("a\tb\n1\tx,y\n2\tz\n", fmt="tsv")
    assert prepared.profile["delimiter"] == "tab"


def test_quoted_fields_with_embedded_newlines(prepare: Prepare) -> None:
    prepared = prepare('id,comment,n\n1,"first line\nsecond line",3\n2,"plain",4\n3,"a ""q""",5\n')
    assert prepared.n_rows == 3
    table = pd.read_parquet(prepared.table_path)
    assert table["comment"].tolist() == ["first line\nsecond line", "plain", 'a "q"']


def test_crlf_line_endings(prepare: Prepare) -> None:
    prepared = prepare("a,b\r\n1,x\r\n2,y\r\n")
    assert prepared.n_rows == 2
    assert pd.read_parquet(prepared.table_path)["b"].tolist() == ["x", "y"]


def test_utf8_bom_is_stripped(prepare: Prepare) -> None:
    prepared = prepare(codecs.BOM_UTF8 + "név,város\nÁdám,Győr\nÉva,Pécs\n".encode())
    assert [c.name for c in prepared.columns] == ["név", "város"]
    assert prepared.profile["encoding"]["bom"] is True
    assert pd.read_parquet(prepared.table_path)["város"].tolist() == ["Győr", "Pécs"]


def test_utf16_with_bom(prepare: Prepare) -> None:
    prepared = prepare("a,b\nçà,1\nü,2\n".encode("utf-16"))
    assert prepared.profile["encoding"]["name"] == "utf-16"
    assert pd.read_parquet(prepared.table_path)["a"].tolist() == ["çà", "ü"]


def test_latin1_is_detected_and_decoded_when_confident(prepare: Prepare) -> None:
    rows = "".join(f"Zoé {i},Besançon,très élevé à côté,{i}\n" for i in range(50))
    prepared = prepare(("nom,ville,commentaire,n\n" + rows).encode("latin-1"))
    encoding = prepared.profile["encoding"]
    assert encoding["guessed"] is True
    assert encoding["confidence"] >= 0.8
    table = pd.read_parquet(prepared.table_path)
    assert table["ville"].iloc[0] == "Besançon"
    assert table["commentaire"].iloc[0] == "très élevé à côté"


def test_undecodable_bytes_are_rejected_with_offset_and_line(reject: Reject) -> None:
    rng = random.Random(5)
    noise = b"".join(
        b"x," + bytes([rng.randrange(0x80, 0x100)]) + b"q" + bytes([rng.randrange(0x80, 0x100)])
        for _ in range(200)
    )
    data = b"a,b\nok,1\n" + noise.replace(b"x,", b"\nx,")
    error = reject(data)
    assert error.code == "bad_encoding"
    # 0-based offset: "a,b\n" (4) + "ok,1\n" (5) + "\n" (1) + "x," (2) = 12.
    assert "not valid UTF-8 (first bad byte at byte offset 12, line 4)" in error.message
    assert "no known encoding fits it" in error.message
    assert error.row == 4


def test_bad_byte_offset_is_exact_beyond_the_first_chunk(reject: Reject) -> None:
    # A UTF-8 sequence split across the 1 MiB read boundary, then a lone continuation byte.
    head = b"a,b\n" + b"x,y\n" * 262_143  # 1,048,576 bytes
    data = head[:-1] + "é".encode() + b"\n1,\x80\x81\xfe\xff\n"
    error = reject(data)
    assert error.code == "bad_encoding"
    offset = len(head[:-1]) + 2 + 3
    assert f"UTF-8 up to byte offset {offset} (line 262145)" in error.message
    assert error.row == 262145


def test_mostly_ascii_with_one_latin1_byte_far_away_is_decoded(prepare: Prepare) -> None:
    head = b"a,b\n" + b"x,y\n" * 30_000
    prepared = prepare(head + "Zoé,1\n".encode("latin-1"))
    assert prepared.profile["encoding"]["guessed"] is True
    assert pd.read_parquet(prepared.table_path)["a"].iloc[-1] == "Zoé"


def test_missing_markers(prepare: Prepare) -> None:
    markers = ["", "NA", "N/A", "null", "NULL", "None", "NaN", "?", "-"]
    rows = "".join(f"{m},{i}\n" for i, m in enumerate(markers))
    prepared = prepare("x,n\n" + rows + "5,100\n")
    x = column(prepared, "x")
    assert x["missing"] == len(markers)
    assert x["kind"] == "numeric"


def test_jsonl_table(prepare: Prepare) -> None:
    lines = [
        '{"age": 31, "city": "Lyon", "member": true}',
        "",
        '{"age": null, "city": "Paris", "member": false}',
        '{"age": 45, "member": true, "extra": "x"}',
    ]
    prepared = prepare("\n".join(lines) + "\n", fmt="jsonl")
    assert [c.name for c in prepared.columns] == ["age", "city", "member", "extra"]
    assert column(prepared, "member")["kind"] == "boolean"
    assert column(prepared, "age")["missing"] == 1
    assert column(prepared, "city")["missing"] == 1


def test_parquet_table_keeps_types(prepare: Prepare) -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1, 2, None, 4], dtype="Int64"),
            "x": [0.5, 1.5, 2.5, 3.5],
            "flag": [True, False, True, True],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", None]),
            "label": ["a", "b", "a", None],
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    prepared = prepare(buffer.getvalue(), fmt="parquet")
    kinds = {c.name: c.kind for c in prepared.columns}
    assert kinds == {
        "n": "numeric",
        "x": "numeric",
        "flag": "boolean",
        "when": "datetime",
        "label": "categorical",
    }
    assert column(prepared, "n")["integer"] is True
    assert prepared.profile["encoding"] is None
