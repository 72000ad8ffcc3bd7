"""Text formats: refuse binary content, detect the encoding, and re-encode the file as UTF-8.

The order is deliberate. A byte-order mark is authoritative. Otherwise strict UTF-8 is tried first,
because it almost never decodes non-UTF-8 text by accident. Only when it fails does
charset-normalizer guess, among the legacy encodings people actually export spreadsheets in (a
free-for-all guess picks exotic code pages such as cp775 for plain French Latin-1), and its guess
is used only above a confidence floor. A guess below it is refused with the first byte that is not
UTF-8, because silently decoding the wrong way corrupts every accented value.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import charset_normalizer

from sds_datasets.domain.errors import BAD_ENCODING, BAD_FORMAT, EMPTY_FILE, DatasetError

_CHUNK: Final = 1024 * 1024
_HEAD: Final = 64 * 1024
#: charset-normalizer's "chaos" (mess ratio) above which a guess is not trusted.
MAX_CHAOS: Final = 0.2
#: Legacy encodings a guess may choose from (Western, Central/Eastern European, Cyrillic, Greek,
#: Turkish, Arabic, and the common CJK ones).
CANDIDATES: Final = (
    "cp1252",
    "latin_1",
    "iso8859_15",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "cp1256",
    "mac_roman",
    "shift_jis",
    "euc_jp",
    "gb18030",
    "big5",
    "euc_kr",
)
# UTF-32 first: its little-endian mark starts with the UTF-16 one.
_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAGIC: Final = (
    (b"PAR1", "a Parquet file"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls / Office document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"SQLite format 3", "an SQLite database"),
)
# Bytes that never occur in text tables; more than this share of them means binary content.
_CONTROL_BYTES: Final = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D}
_MAX_CONTROL_SHARE: Final = 0.01


@dataclass(frozen=True, slots=True)
class TextEncoding:
    """How a text file was decoded.

    Attributes:
        name: the Python codec used.
        confidence: 1.0 for a byte-order mark or valid UTF-8, else ``1 - chaos`` of the guess.
        bom: whether the file started with a byte-order mark.
        guessed: whether the encoding was guessed (not UTF-8, no mark).
    """

    name: str
    confidence: float
    bom: bool
    guessed: bool


def describe_binary(head: bytes) -> str | None:
    """Say what binary content ``head`` (the first bytes of a file) looks like, or None for text."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if any(head.startswith(bom) for bom, _ in _BOMS):
        return None
    nul = head.find(b"\x00")
    if nul >= 0:
        return f"binary data (a NUL byte at offset {nul})"
    controls = sum(1 for byte in head if byte in _CONTROL_BYTES)
    if head and controls / len(head) > _MAX_CONTROL_SHARE:
        return f"binary data ({controls} control bytes in the first {len(head)} bytes)"
    return None


def to_utf8(source: Path, target: Path, *, declared: str) -> TextEncoding:
    """Decode the text file ``source`` and write it to ``target`` as UTF-8 without a mark.

    Raises:
        DatasetError: ``empty_file``, ``bad_format`` (binary content) or ``bad_encoding``.
    """
    with source.open("rb") as fh:
        head = fh.read(_HEAD)
    if not head.strip():
        raise DatasetError(EMPTY_FILE, "the file is empty: it has no header and no rows")
    binary = describe_binary(head)
    if binary is not None:
        raise DatasetError(
            BAD_FORMAT,
            f"the file was uploaded as {declared} but its content looks like {binary}, "
            "not delimited or line-based text",
        )
    for bom, name in _BOMS:
        if head.startswith(bom):
            _transcode(source, target, encoding=name)
            return TextEncoding(name=name, confidence=1.0, bom=True, guessed=False)
    try:
        _transcode(source, target, encoding="utf-8")
    except _UndecodableError as utf8_failure:
        return _transcode_guessed(source, target, utf8_failure=utf8_failure)
    return TextEncoding(name="utf-8", confidence=1.0, bom=False, guessed=False)


class _UndecodableError(Exception):
    def __init__(
        self, *, encoding: str, offset: int, line: int, reason: str, non_ascii_before: bool
    ) -> None:
        super().__init__(reason)
        self.encoding = encoding
        self.offset = offset
        self.line = line
        self.reason = reason
        self.non_ascii_before = non_ascii_before


def _transcode_guessed(
    source: Path, target: Path, *, utf8_failure: _UndecodableError
) -> TextEncoding:
    where = f"byte offset {utf8_failure.offset}, line {utf8_failure.line}"
    if utf8_failure.non_ascii_before:
        # Accented characters decoded as UTF-8 before the bad byte: the file is damaged UTF-8.
        # A legacy code page would decode it, but turn every earlier "é" into "Ã©".
        raise DatasetError(
            BAD_ENCODING,
            f"the file is UTF-8 up to byte offset {utf8_failure.offset} (line "
            f"{utf8_failure.line}), where a byte is not valid UTF-8 ({utf8_failure.reason}); "
            "the file may be damaged or mix encodings: save it as UTF-8 and upload it again",
            row=utf8_failure.line,
        )
    guess = charset_normalizer.from_bytes(
        _detection_sample(source, around=utf8_failure.offset), cp_isolation=list(CANDIDATES)
    ).best()
    if guess is None or guess.chaos > MAX_CHAOS:
        detail = (
            "no known encoding fits it"
            if guess is None
            else f"the best guess, {guess.encoding}, is only {1 - guess.chaos:.0%} certain"
        )
        raise DatasetError(
            BAD_ENCODING,
            f"the file is not valid UTF-8 (first bad byte at {where}) and {detail}; "
            "save it as UTF-8 and upload it again",
            row=utf8_failure.line,
        )
    try:
        _transcode(source, target, encoding=guess.encoding)
    except _UndecodableError as failure:
        raise DatasetError(
            BAD_ENCODING,
            f"the file is not valid UTF-8 (first bad byte at {where}) and it is not valid "
            f"{guess.encoding} either (byte offset {failure.offset}, line {failure.line}: "
            f"{failure.reason}); save it as UTF-8 and upload it again",
            row=failure.line,
        ) from None
    return TextEncoding(name=guess.encoding, confidence=1 - guess.chaos, bom=False, guessed=True)


def _detection_sample(source: Path, *, around: int) -> bytes:
    # The start of the file plus the region where UTF-8 failed: accented bytes may be rare and
    # sit far from the header, and the guess needs to see some of them.
    with source.open("rb") as fh:
        head = fh.read(_HEAD)
        if around < _HEAD:
            return head
        fh.seek(max(_HEAD, around - 1024))
        return head + fh.read(_HEAD)


def _transcode(source: Path, target: Path, *, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    fed = 0
    newlines = 0
    non_ascii = False
    with source.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(_CHUNK)
            final = not chunk
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                data = bytes(exc.object)
                before = data[: exc.start].decode(encoding, errors="replace")
                raise _UndecodableError(
                    encoding=encoding,
                    offset=fed - pending + exc.start,
                    line=newlines + before.count("\n") + 1,
                    reason=exc.reason,
                    non_ascii_before=non_ascii or not before.isascii(),
                ) from None
            newlines += text.count("\n")
            non_ascii = non_ascii or not text.isascii()
            dst.write(text)
            fed += len(chunk)
            if final:
                return
