"""The Moses (English) tokenise-then-detokenise round trip that mwzeval applies to every response.

mwzeval normalises each response with ``MosesDetokenizer('en').detokenize(MosesTokenizer('en')
.tokenize(text))`` (sacremoses, default options). Only the *round trip* matters for the metric, so
this module implements exactly that, without sacremoses:

* XML escaping (tokeniser) and unescaping (detokeniser) cancel out - ``&``, ``;``, ``|``, ``<``,
  ``>``, ``"``, ``[`` and ``]`` are always padded into tokens of their own before escaping, so no
  entity can be glued to neighbouring text - and are skipped.
* Character classes: Moses uses Perl Unicode property tables. Restricted to ASCII they are exactly
  ``[A-Za-z0-9]`` (alnum), ``[A-Za-z]`` (alpha), ``[0-9]`` (numbers), ``[a-z]`` (lower) and ``$``
  (currency), so ASCII text - every response of the 16 systems shipped with mwzeval - is handled
  exactly. Non-ASCII text is delegated to sacremoses when it is installed, and otherwise uses
  Unicode property classes (``regex`` module), which may differ from Moses' old Perl tables for
  rare scripts; :func:`roundtrip_is_exact` tells callers which case applied.

Verified against sacremoses 0.2.0 on all 117,300 responses of mwzeval's ``predictions/`` and on
random strings (see ``docs/score-reference.md``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# Moses' English non-breaking prefixes: a token "<prefix>." keeps its period.
_NONBREAKING = frozenset(
    [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    + """Adj Adm Adv Asst Bart Bldg Brig Bros Capt Cmdr Col Comdr Con Corp Cpl DR Dr Drs Ens Gen Gov
    Hon Hr Hosp Insp Lt MM MR MRS MS Maj Messrs Mlle Mme Mr Mrs Ms Msgr Op Ord Pfc Ph Prof Pvt Rep
    Reps Res Rev Rt Sen Sens Sfc Sgt Sr St Supt Surg v vs i.e rev e.g Rs Nos Nr Jan Feb Mar Apr Jun
    Jul Aug Sep Oct Nov Dec""".split()
)
# ... and those that keep it only before a number ("No. 5").
_NUMERIC_ONLY = frozenset(["No", "Art", "pp"])

# CJK code point ranges of sacremoses' detokeniser (closed intervals).
_CJK_RANGES = (
    (4352, 4607), (11904, 42191), (43072, 43135), (44032, 55215), (63744, 64255), (65072, 65103),
    (65381, 65500), (94208, 101119), (110592, 110895), (110960, 111359), (131072, 196607),
)


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    for start, end in _CJK_RANGES:
        if code <= end:
            return code >= start
    return False


class _Rules:
    """The compiled rules for one character-class set (ASCII, or Unicode properties)."""

    def __init__(self, mod: Any, alnum: str, alpha: str, num: str, currency: str, lower: Any):
        c = mod.compile
        self.spaces = c(r"\s+")
        self.junk = c(r"[\000-\037]")
        self.pad = c(rf"([^{alnum}\s\.'\`\,\-])")
        self.multidot = c(r"\.{2,}")
        self.comma = [
            (c(rf"([^{num}])[,]"), r"\1 , "),
            (c(rf"[,]([^{num}])"), r" , \1"),
            (c(rf"([{num}])[,]$"), r"\1 , "),
        ]
        self.apostrophe = [
            (c(rf"([^{alpha}])[']([^{alpha}])"), r"\1 ' \2"),
            (c(rf"([^{alpha}{num}])[']([{alpha}])"), r"\1 ' \2"),
            (c(rf"([{alpha}])[']([^{alpha}])"), r"\1 ' \2"),
            (c(rf"([{alpha}])[']([{alpha}])"), r"\1 '\2"),
            (c(rf"([{num}])[']([s])"), r"\1 '\2"),
        ]
        self.any_alpha = c(rf"[{alpha}]")
        self.is_lower = lower
        self.trailing_dot_quote = c(r"\.' ?$")
        self.marker = c(r"(?:DOT)+MULTI")
        self.currency = c(rf"^[{currency}\(\[\{{\¿\¡]+$")
        self.punct = c(r"^[\,\.\?\!\:\;\\\%\}\]\)]+$")
        self.contraction = c(rf"^['][{alpha}]")
        self.open_quote = c(r"""^[\'\"„“`]+$""")
        self.curly = c(r"^[„“”]+$")
        self.digits = c(r"^[0-9]+")
        self.ends_s = c(r"[s]$")
        self.many_spaces = c(r" {2,}")
        self.kinds: dict[str, str] = {}  # token -> detokeniser rule, memoised


_ASCII = _Rules(re, "A-Za-z0-9", "A-Za-z", "0-9", "$", lambda ch: "a" <= ch <= "z")
_UNICODE: _Rules | None = None


class _V1:
    """The ``regex`` module with set operations (``[a--b]``) switched on."""

    def __init__(self, mod: Any):
        self._mod = mod

    def compile(self, pattern: str) -> Any:
        return self._mod.compile(pattern, self._mod.V1)


def _unicode_rules() -> _Rules:
    global _UNICODE
    if _UNICODE is None:
        import regex

        # Moses' English tables leave CJK scripts out of alnum/alpha (they are added for zh/ja/ko only).
        cjk = r"\p{Han}\p{Hangul}\p{Hiragana}\p{Katakana}"
        mod = _V1(regex)
        _UNICODE = _Rules(
            mod, rf"[[\p{{L}}\p{{Mn}}\p{{Mc}}\p{{Nd}}\p{{Nl}}]--[{cjk}]]",
            rf"[[\p{{L}}\p{{Mn}}\p{{Mc}}\p{{Nl}}]--[{cjk}]]",
            r"\p{N}", r"\p{Sc}", lambda ch: unicodedata.category(ch) == "Ll",
        )
    return _UNICODE


def _nonbreaking(text: str, r: _Rules) -> str:
    if "." not in text:
        return text
    tokens = text.split()
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        if len(token) < 2 or token[-1] != ".":  # Moses: ^(\S+)\.$ on a whitespace-free token
            continue
        prefix = token[:-1]
        if ("." in prefix and r.any_alpha.search(prefix)) or prefix in _NONBREAKING:
            continue
        if i != last and r.is_lower(tokens[i + 1][0]):
            continue
        if prefix in _NUMERIC_ONLY and i < last and r.digits.search(tokens[i + 1]):
            continue
        tokens[i] = prefix + " ."
    return " ".join(tokens)


def _tokenize(text: str, r: _Rules) -> list[str]:
    # Rules that cannot fire (their trigger character is absent) are skipped: same result, less work.
    text = r.junk.sub("", r.spaces.sub(" ", text)).strip()
    text = r.pad.sub(r" \1 ", text)
    if ".." in text:
        n = len(text)
        text = r.multidot.sub(
            lambda m: " " + "DOT" * (m.end() - m.start()) + "MULTI" + (" " if m.end() < n else ""), text
        )
    if "," in text:
        for pattern, repl in r.comma:
            text = pattern.sub(repl, text)
    if "'" in text:
        for pattern, repl in r.apostrophe:
            text = pattern.sub(repl, text)
    text = _nonbreaking(text, r)
    text = r.spaces.sub(" ", text).strip()
    if ".'" in text:
        text = r.trailing_dot_quote.sub(" . ' ", text)
    if "MULTI" in text:
        text = r.marker.sub(lambda m: "." * ((m.end() - m.start() - 5) // 3), text)
    return text.split()


def _quote_glues_left(token: str, i: int, tokens: list[str], counts: dict[str, int], r: _Rules) -> bool:
    """Moses' quote pairing: an opening quote sticks to the right, a closing one to the left."""
    key = '"' if r.curly.search(token) else token
    counts[key] = counts.get(key, 0)
    if counts[key] % 2 == 0:
        if token == "'" and i > 0 and r.ends_s.search(tokens[i - 1]):
            return True  # possessive: "the jones' house"
        counts[key] += 1
        return False
    counts[key] += 1
    return True


def _kind(token: str, r: _Rules) -> str:
    """Which detokeniser rule a token falls under (before position-dependent checks)."""
    if _is_cjk(token[0]):
        return "cjk"
    if r.currency.search(token):
        return "currency"
    if r.punct.search(token):
        return "punct"
    if r.contraction.search(token):
        return "contraction"
    if r.open_quote.search(token):
        return "quote"
    return "word"


def _detokenize(tokens: list[str], r: _Rules) -> str:
    counts = {"'": 0, '"': 0, "``": 0, "`": 0, "''": 0}
    prepend = " "
    out: list[str] = []
    kinds = r.kinds
    for i, token in enumerate(tokens):
        kind = kinds.get(token)
        if kind is None:
            kind = kinds[token] = _kind(token, r)
        if kind == "contraction" and i == 0:  # a leading "'s" is an ordinary token (or a quote)
            kind = "quote" if r.open_quote.search(token) else "word"
        if kind == "cjk":
            out.append(token if i > 0 and _is_cjk(tokens[i - 1][-1]) else prepend + token)
            prepend = " "
        elif kind == "currency":
            out.append(prepend + token)
            prepend = ""
        elif kind in ("punct", "contraction"):
            out.append(token)
            prepend = " "
        elif kind == "quote":
            if _quote_glues_left(token, i, tokens, counts, r):
                out.append(token)
                prepend = " "
            else:
                out.append(prepend + token)
                prepend = ""
        else:
            out.append(prepend + token)
            prepend = " "
    return r.many_spaces.sub(" ", "".join(out)).strip()


_SACREMOSES: Any = None


def _sacremoses_roundtrip(text: str) -> str | None:
    global _SACREMOSES
    if _SACREMOSES is None:
        try:
            from sacremoses import MosesDetokenizer, MosesTokenizer

            _SACREMOSES = (MosesTokenizer(lang="en"), MosesDetokenizer(lang="en"))
        except ImportError:
            _SACREMOSES = False
    if _SACREMOSES is False:
        return None
    mt, md = _SACREMOSES
    return md.detokenize(mt.tokenize(text))


@lru_cache(maxsize=65536)
def moses_roundtrip(text: str) -> str:
    """``detokenize(tokenize(text))`` as sacremoses does it for English with default options."""
    if text.isascii():
        return _detokenize(_tokenize(text, _ASCII), _ASCII)
    exact = _sacremoses_roundtrip(text)
    if exact is not None:
        return exact
    rules = _unicode_rules()
    return _detokenize(_tokenize(text, rules), rules)


def roundtrip_is_exact(text: str) -> bool:
    """Whether :func:`moses_roundtrip` is guaranteed to equal sacremoses on ``text``."""
    return text.isascii() or _sacremoses_roundtrip("") is not None
