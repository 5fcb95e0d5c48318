"""Tokenization of rendered chats, with a cache for the text that dialogs share.

A fast tokenizer splits its input on added tokens (``<|im_start|>`` ...) before anything else,
so the text between two added tokens is tokenized on its own. We split the same way and
cache each piece: system prompts, tool blocks, role headers and repeated replies are
tokenized once per process. The split is checked token for token against a whole-text
encode on the first texts; if a tokenizer disagrees (added tokens that strip spaces, odd
normalizers), the cache is switched off and every text is encoded whole.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from dialogkit.errors import UsageError

_MAX_CACHE = 200_000
_VERIFY_FIRST = 64


class _Piece:
    """Token ids of one text, with char offsets taken from the backend's encoding on first use.

    Most pieces (user turns, tool results, system prompts) never need offsets; turning every
    offset into Python ints costs about a fifth of tokenizing on text that does not repeat.
    """

    __slots__ = ("_enc", "_ends", "_starts", "ids")

    def __init__(self, enc: Any):
        self.ids: list[int] = enc.ids
        self._enc = enc
        self._starts: list[int] | None = None
        self._ends: list[int] | None = None

    def _offsets(self) -> None:
        offsets = self._enc.offsets
        self._starts, self._ends = [s for s, _ in offsets], [e for _, e in offsets]
        self._enc = None

    @property
    def starts(self) -> list[int]:  # char offsets relative to the piece
        if self._starts is None:
            self._offsets()
        return self._starts  # type: ignore[return-value]

    @property
    def ends(self) -> list[int]:
        if self._ends is None:
            self._offsets()
        return self._ends  # type: ignore[return-value]


class Encoded:
    """Token ids of one text plus the char <-> token mapping ``apply_chat_template`` uses."""

    __slots__ = ("_char_starts", "_pieces", "_tok_starts", "ids")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self._char_starts: list[int] = []
        self._tok_starts: list[int] = []
        self._pieces: list[_Piece] = []

    def _add(self, char_start: int, piece: _Piece) -> None:
        self._char_starts.append(char_start)
        self._tok_starts.append(len(self.ids))
        self._pieces.append(piece)
        self.ids.extend(piece.ids)

    def char_to_token(self, char: int) -> int | None:
        """The first token whose character range holds ``char`` (``tokenizers``' own rule)."""
        p = bisect_right(self._char_starts, char) - 1
        if p < 0:
            return None
        piece = self._pieces[p]
        rel = char - self._char_starts[p]
        t = bisect_right(piece.ends, rel)
        if t >= len(piece.ids) or piece.starts[t] > rel:
            return None
        return self._tok_starts[p] + t

    def token_start(self, token: int) -> int:
        """Character offset where ``token`` starts."""
        p = bisect_right(self._tok_starts, token) - 1
        return self._char_starts[p] + self._pieces[p].starts[token - self._tok_starts[p]]

    def token_end(self, token: int) -> int:
        p = bisect_right(self._tok_starts, token) - 1
        return self._char_starts[p] + self._pieces[p].ends[token - self._tok_starts[p]]

    def __len__(self) -> int:
        return len(self.ids)


class PieceEncoder:
    """``encode(text)`` equal to ``tokenizer(text, add_special_tokens=False)``, cached per piece."""

    def __init__(self, tokenizer: Any, cache: bool = True):
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None or not getattr(tokenizer, "is_fast", False):
            raise UsageError("prepare needs a fast tokenizer (tokenizer.json); this one is a slow Python tokenizer")
        self._backend = backend
        self._cache: dict[str, _Piece] = {}
        self._special: dict[str, _Piece] = {}
        added = [t for t in tokenizer.added_tokens_decoder.values()]
        splittable = all(not (t.lstrip or t.rstrip or t.single_word) for t in added)
        self.cached = cache and splittable and bool(added)
        self._checked = 0
        self.disabled_reason: str | None = None if self.cached else "added tokens strip spaces or none exist"
        if self.cached:
            # Special tokens bound whole messages: fewer, more often repeated pieces than splitting on
            # every added token (the backend handles `<think>`-like added tokens inside a piece).
            special = [t for t in added if t.special] or added
            contents = sorted({t.content for t in special}, key=len, reverse=True)
            # one capturing group: re.split gives [text, special, text, special, ..., text] in C
            self._split = re.compile("(" + "|".join(re.escape(c) for c in contents) + ")")
            for t in special:
                enc = backend.encode(t.content, add_special_tokens=False)
                self._special[t.content] = _Piece(enc)

    def encode(self, text: str) -> Encoded:
        out = self._encode_pieces(text) if self.cached else self._encode_whole(text)
        if self.cached and self._checked < _VERIFY_FIRST:
            self._checked += 1
            whole = self._encode_whole(text)
            if whole.ids != out.ids:
                self.cached = False
                self.disabled_reason = "piece-wise tokenization differs from whole-text tokenization"
                self._cache.clear()
                return whole
        return out

    def encode_ids(self, text: str) -> list[int]:
        return self.encode(text).ids

    def _encode_whole(self, text: str) -> Encoded:
        enc = self._backend.encode(text, add_special_tokens=False)
        out = Encoded()
        out._add(0, _Piece(enc))
        return out

    def _encode_pieces(self, text: str) -> Encoded:
        parts = self._split.split(text)  # even positions: text between special tokens; odd: the tokens
        cache = self._cache
        if len(cache) > _MAX_CACHE:
            cache.clear()
        missing = [p for p in set(parts[0::2]) if p and p not in cache]
        if missing:
            self._fill(missing)
        out = Encoded()
        ids, char_starts, tok_starts, pieces = out.ids, out._char_starts, out._tok_starts, out._pieces
        special = self._special
        pos = 0
        for k, part in enumerate(parts):
            if not part:
                continue
            piece = special[part] if k & 1 else cache[part]
            char_starts.append(pos)
            tok_starts.append(len(ids))
            pieces.append(piece)
            ids += piece.ids
            pos += len(part)
        return out

    def _fill(self, texts: list[str]) -> None:
        for piece, enc in zip(texts, self._backend.encode_batch(texts, add_special_tokens=False)):
            self._cache[piece] = _Piece(enc)

    def piece_ids(self, text: str) -> list[int]:
        """Tokens of ``text`` holding no special token (cached): what a piece between two encodes to."""
        piece = self._cache.get(text)
        if piece is None:
            self._fill([text])
            piece = self._cache[text]
        return piece.ids


def prefix_matches(enc: Encoded, token: int, char: int, text: str, encoder: PieceEncoder) -> bool:
    """Whether ``enc.ids[:token]`` equals ``encoder.encode(text[:char]).ids``.

    With piece caching only the piece that holds ``char`` can differ (pieces tokenize on
    their own), so only its head is encoded; otherwise the whole prefix is.
    """
    if token < len(enc.ids):
        if enc.token_start(token) != char:
            return False  # a token straddles the boundary
    elif token and enc.token_end(token - 1) != char:
        return False
    if not encoder.cached or len(enc._pieces) == 1:
        return encoder.encode(text[:char]).ids == enc.ids[:token]
    p = bisect_right(enc._char_starts, char) - 1
    if p < 0:
        return token == 0
    head = text[enc._char_starts[p] : char]
    if not head:
        return token == enc._tok_starts[p]
    if head in encoder._special:  # the boundary is inside a special token: not a clean cut
        return encoder.encode(head).ids == enc.ids[enc._tok_starts[p] : token]
    # `head` is the start of one piece, so it holds no special token: the piece cache encodes it
    return encoder.piece_ids(head) == enc.ids[enc._tok_starts[p] : token]
