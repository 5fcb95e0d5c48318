"""Raw model text arriving piece by piece → the content and reasoning deltas safe to send now.

The model writes ``<think>…</think>`` reasoning, visible text and Hermes ``<tool_call>`` blocks
in one stream. Text is sent as soon as it cannot turn out to be part of a tag or a stop string;
from the first ``<tool_call>`` on, nothing more is streamed as content and the calls are sent
whole at the end, parsed by :func:`dialogkit.generate.parse_completion` (what non-streaming
answers use). :meth:`DeltaSplitter.finish` sends what is left so that the concatenated deltas
equal the final parsed message: streaming and non-streaming answers agree.
"""

from __future__ import annotations

from dialogkit.schema import AssistantMessage

THINK_OPEN, THINK_CLOSE, CALL_OPEN = "<think>", "</think>", "<tool_call>"


def _partial_suffix(text: str, tokens: list[str]) -> int:
    """Length of the longest end of ``text`` that is a proper beginning of one of ``tokens``."""
    best = 0
    for tok in tokens:
        for k in range(min(len(tok) - 1, len(text)), best, -1):
            if text.endswith(tok[:k]):
                best = k
                break
    return best


class DeltaSplitter:
    """Feed raw text pieces; get ``("reasoning" | "content", text)`` deltas."""

    def __init__(self, stop: list[str] | None = None):
        self.stop = list(stop or [])
        self.raw = ""
        self.sent = {"reasoning": "", "content": ""}

    def _targets(self) -> dict[str, str]:
        """What may be shown of each part so far, before trailing whitespace (it may be stripped)."""
        text = self.raw
        cuts = [i for i in (text.find(s) for s in self.stop) if i >= 0]
        if cuts:
            text = text[:min(cuts)]
        else:
            text = text[:len(text) - _partial_suffix(text, self.stop)]
        stripped = text.lstrip()
        lead = len(text) - len(stripped)
        if THINK_OPEN.startswith(stripped):
            return {}  # could still become a <think> block
        out: dict[str, str] = {}
        body_start = lead
        if stripped.startswith(THINK_OPEN):
            inner_start = lead + len(THINK_OPEN)
            close = text.find(THINK_CLOSE, inner_start)
            if close < 0:
                inner = text[inner_start:]
                inner = inner[:len(inner) - _partial_suffix(inner, [THINK_CLOSE])]
                out["reasoning"] = inner.strip()
                return out
            out["reasoning"] = text[inner_start:close].strip()
            body_start = close + len(THINK_CLOSE)
        body = text[body_start:]
        call = body.find(CALL_OPEN)
        body = body[:call] if call >= 0 else body[:len(body) - _partial_suffix(body, [CALL_OPEN])]
        out["content"] = body.strip()
        return out

    def _deltas(self, targets: dict[str, str]) -> list[tuple[str, str]]:
        out = []
        for kind in ("reasoning", "content"):
            target = targets.get(kind)
            if target and target.startswith(self.sent[kind]) and len(target) > len(self.sent[kind]):
                out.append((kind, target[len(self.sent[kind]):]))
                self.sent[kind] = target
        return out

    def feed(self, piece: str) -> list[tuple[str, str]]:
        self.raw += piece
        return self._deltas(self._targets())

    def finish(self, final: AssistantMessage) -> list[tuple[str, str]]:
        """The rest of the final message's reasoning and content (after the last piece)."""
        return self._deltas({"reasoning": final.reasoning or "", "content": final.content})
