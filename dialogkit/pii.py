"""Find and redact personal data in dialog text: e-mail, phone, ID and card numbers, IP addresses.

Built for speed on mixed Chinese/English text: ``bytes.find`` on a digit-class copy of the
text finds the few places a number could start, a regex takes the run of digits and
separators there (a candidate), and each candidate is then classified with exact checks - the
Chinese resident-ID checksum (GB 11643), the Luhn checksum with issuer prefixes for cards,
the phone shapes of China (mobile and landline), NANP and international/national numbers.
E-mail and IPv6 patterns only run when the text holds an ``@`` or ``::``, so text without
personal data costs one regex pass.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

KINDS = ("EMAIL", "PHONE", "ID_CN", "ID_US", "BANK_CARD", "IP")
PLACEHOLDERS = {k: f"[{k}]" for k in KINDS}
LABELS = {
    "EMAIL": "e-mail address",
    "PHONE": "phone number",
    "ID_CN": "Chinese resident ID number",
    "ID_US": "US social security number",
    "BANK_CARD": "bank card number",
    "IP": "IP address",
}


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One piece of personal data: its kind and where it is in the scanned text."""

    kind: str
    start: int
    end: int
    text: str


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")

_IPV4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}")
_ID_CN = re.compile(r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]")
_SSN = re.compile(r"(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}")
_CARD = re.compile(r"\d{4}(?:[ \-]?\d{2,4}){2,4}\d{0,3}|\d{13,19}")
_PHONES = (
    # China mobile, optionally +86 / 0086, grouped 3-4-4 or not
    re.compile(r"(?:(?:\+|00)86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}"),
    # China landline: (010)12345678, 010-12345678, 0571 88888888, optional extension
    re.compile(r"(?:[(（]0\d{2,3}[)）] ?|0\d{2,3}[ \-])\d{7,8}(?:-\d{1,6})?"),
    # international with + or 00: +44 1223 356555, +1 (415) 555-2671
    re.compile(r"(?:\+|00)[1-9]\d{0,2}(?:[ \-]?[(（]?\d{1,4}[)）]?){2,5}"),
    # NANP: (415) 555-2671, 415-555-2671, 415.555.2671
    re.compile(r"(?:\(\d{3}\) ?|\d{3}[\-. ])\d{3}[\-. ]\d{4}"),
    # national numbers with a trunk 0: 01223 356555, 030 12345678
    re.compile(r"0\d{2,4}[ \-]?\d{3,4}[ \-]?\d{3,4}"),
    # national numbers in pairs: 01 23 45 67 89
    re.compile(r"0\d(?:[ .\-]?\d{2}){4}"),
)
_NON_DIGIT = re.compile(r"\D")
_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|3[05689]|6(?:011|5|2|4[4-9])|35")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def cn_id_valid(number: str) -> bool:
    """GB 11643-1999 checksum of an 18-character Chinese resident ID number."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number, _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _ip_public(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified)


@lru_cache(maxsize=1 << 16)
def _classify(c: str) -> str | None:
    # Cached: the same numbers (a venue's phone, dates, prices) recur across a data set.
    digits = _NON_DIGIT.sub("", c)
    n = len(digits)
    if "." in c and _IPV4.fullmatch(c):
        return "IP" if _ip_public(c) else None
    if n >= 17 and _ID_CN.fullmatch(c) and cn_id_valid(c):
        return "ID_CN"
    if n == 9 and _SSN.fullmatch(c):
        return "ID_US"
    if 13 <= n <= 19 and _CARD.fullmatch(c) and _CARD_PREFIX.match(digits) and luhn_valid(digits):
        return "BANK_CARD"
    if 7 <= n <= 15 and any(p.fullmatch(c) for p in _PHONES):
        return "PHONE"
    return None


@lru_cache(maxsize=1 << 16)
def _classify_run(run: str) -> tuple[tuple[str, int, int], ...]:
    """``(kind, start, end)`` inside one candidate run; cached like :func:`_classify`."""
    kind = _classify(run)
    if kind:
        return ((kind, 0, len(run)),)
    if " " not in run or _CARD.fullmatch(run):
        return ()  # one number (a card-shaped run failing its checksum is not a phone plus change)
    # "call 13812345678 2 times": try the longest space-separated windows, left to right.
    parts = run.split(" ")
    offsets, pos = [], 0
    for p in parts:
        offsets.append(pos)
        pos += len(p) + 1
    out = []
    i = 0
    while i < len(parts):
        for j in range(len(parts), i, -1):
            s, e = offsets[i], offsets[j - 1] + len(parts[j - 1])
            piece = run[s:e]
            if len(piece) >= 7 and (kind := _classify(piece.strip("().（）"))):
                out.append((kind, s, e))
                i = j
                break
        else:
            i += 1
    return tuple(out)


# Digits become "d" and dashes spaces, so three ``bytes.find`` calls locate every place a
# number-shaped piece of personal data can be: four digits in a row (phones, IDs, cards),
# digit pairs ("01 23 45", "01-23-45") or digit-dot-digit (IPv4). Far cheaper than running a
# regex over every character; the regex then runs only at those places, on the UTF-8 bytes.
_DIGIT_CLASS = bytes.maketrans(b"0123456789-", b"dddddddddd ")
_ANCHOR_PATTERNS = (b"dddd", b"dd dd dd", b"d.d")
_RUN_BYTES = b"0123456789 -.()+\xef\xbc\x88\x89"
_NOT_START = b" -.)\xbc\x88\x89"
_RUN_INTS = frozenset(_RUN_BYTES)
_CANDIDATE_B = re.compile(rb"(?:[+(0-9]|\xef\xbc\x88)(?:[0-9 \-.()]|\xef\xbc[\x88\x89]){5,}[0-9Xx]")
_WORD_BYTES = frozenset(b"_/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_LETTER_BYTES = frozenset(b"_/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _number_matches(text: str, out: list[PiiMatch]) -> None:
    raw = text.encode()
    cls = raw.translate(_DIGIT_CLASS)
    anchors: list[int] = []
    for anchor in _ANCHOR_PATTERNS:
        p = cls.find(anchor)
        while p >= 0:
            anchors.append(p)
            p = cls.find(anchor, p + len(anchor))
    if not anchors:
        return
    if len(anchors) > 1:
        anchors.sort()
    ascii_text = text.isascii()
    done, size = 0, len(raw)
    for p in anchors:
        if p < done:
            continue
        # Cheap rejects for the most common numbers: a lone 4-digit number (a year, a price)
        # and an ISO date, with nothing number-like around them.
        if (p == 0 or raw[p - 1] not in _RUN_INTS) and cls[p : p + 4] == b"dddd":
            end = p + 10 if cls[p + 4 : p + 10] == b" dd dd" and raw[p + 4] == 45 else p + 4
            if end >= size or raw[end] not in _RUN_INTS:
                continue
        # Back to the start of the run of digits and separators, then forward to where a
        # number can start (bytes.rstrip/lstrip do the walking in C).
        before = raw[max(0, p - 40) : p]
        k = p - (len(before) - len(before.rstrip(_RUN_BYTES)))
        lead = raw[k:p]
        k += len(lead) - len(lead.lstrip(_NOT_START))
        m = _CANDIDATE_B.match(raw, k)
        if m is None or m.end() <= p:
            m = _CANDIDATE_B.match(raw, p)
            if m is None:
                continue
        s, e = m.span()
        done = e
        # Part of a word or code ("AB1234567"): not a number on its own.
        if (s and raw[s - 1] in _WORD_BYTES) or (e < len(raw) and raw[e] in _LETTER_BYTES):
            continue
        found = _classify_run(raw[s:e].decode())
        if found:
            base = s if ascii_text else len(raw[:s].decode())
            run = raw[s:e].decode()
            out.extend(PiiMatch(kind, base + a, base + b, run[a:b]) for kind, a, b in found)


def find_pii(text: str) -> list[PiiMatch]:
    """Every piece of personal data in ``text``, in order, without overlaps."""
    out: list[PiiMatch] = []
    _number_matches(text, out)
    extra: list[PiiMatch] = []
    if "@" in text:
        extra.extend(PiiMatch("EMAIL", *m.span(), m.group()) for m in _EMAIL.finditer(text))
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            if ":" in m.group().strip(":") and _ip_public(m.group()):
                extra.append(PiiMatch("IP", *m.span(), m.group()))
    if not extra:
        return out  # number matches come in order and never overlap
    kept: list[PiiMatch] = []
    for x in sorted(out + extra, key=lambda x: x.start):
        if not kept or x.start >= kept[-1].end:
            kept.append(x)
    return kept


def mask(value: str) -> str:
    """Enough of a value to find it again, not enough to leak it: ``13*******78``."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def redact(text: str, matches: list[PiiMatch] | None = None) -> str:
    """``text`` with each piece of personal data replaced by its typed placeholder (``[PHONE]``)."""
    matches = find_pii(text) if matches is None else matches
    if not matches:
        return text
    parts, pos = [], 0
    for m in matches:
        parts.append(text[pos : m.start])
        parts.append(PLACEHOLDERS[m.kind])
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


def redact_value(value: Any) -> Any:
    """A copy of a JSON value with every string redacted (dict keys are kept)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    return value
