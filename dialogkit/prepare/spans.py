"""Trained spans: where each trained message sits in the rendered text, and in the tokens.

Two ways to find a span, both exact:

* tagged templates: the ``{% generation %}`` blocks, attributed to assistant messages in
  order, mapped to tokens exactly as ``apply_chat_template(return_assistant_tokens_mask=True)``
  maps them (first token holding the first char .. first token holding the last char);
* any template: prefix rendering. Turn ``i`` starts where the inference prompt
  ``render(messages[:i], add_generation_prompt=True)`` ends and stops where
  ``render(messages[:i+1])`` ends; both must be prefixes of the full render (else the dialog
  is not prefix-stable, see ``stability.py``).

Then the span is verified on tokens: no token may straddle its start, and the tokens before
it must equal the tokenized inference prompt. A failure is a *boundary merge*, reported and
handled by the caller (one row per turn), never a silently shifted mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialogkit.errors import Issue, RecordError
from dialogkit.prepare.encode import Encoded
from dialogkit.prepare.render import Renderer


@dataclass(slots=True)
class CharSpan:
    """A trained message's characters ``[start, end)``; ``prompt_end`` is where its prompt ends."""

    msg: int  # index into the rendered message list
    start: int
    end: int


@dataclass(slots=True)
class TokenSpan:
    msg: int
    start: int  # first trained token
    end: int  # one past the last trained token


def to_token_span(enc: Encoded, span: CharSpan) -> TokenSpan | None:
    """Tokens of ``span`` with ``apply_chat_template``'s rule (None when the text is empty)."""
    if span.end <= span.start:
        return None
    first = enc.char_to_token(span.start)
    if first is None:
        return None
    last = enc.char_to_token(span.end - 1)
    # transformers: `range(start, end + 1 if end else len)` - a missing or zero end runs to the end
    end = last + 1 if last else len(enc.ids)
    return TokenSpan(span.msg, first, end)


def boundary_ok(enc: Encoded, tspan: TokenSpan, char_start: int, prompt_ids: list[int]) -> bool:
    """No token crosses ``char_start`` and the tokens before the span are exactly ``prompt_ids``."""
    if enc.token_start(tspan.start) != char_start:
        return False
    return enc.ids[: tspan.start] == prompt_ids


def attribute_generation(
    generation: tuple[tuple[int, int], ...], messages: list[dict[str, Any]]
) -> list[CharSpan] | None:
    """Pair the template's generation blocks with assistant messages, in order.

    Returns None when the counts differ (a template that tags something else, or skips a
    message): then blocks can't be tied to messages and per-message selection is impossible.
    """
    assistants = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    if len(assistants) != len(generation):
        return None
    return [CharSpan(i, s, e) for i, (s, e) in zip(assistants, generation)]


@dataclass(slots=True)
class TurnRender:
    """The inference prompt of message ``msg`` and the render that ends with it."""

    msg: int
    prompt: str
    full: str
    generation: tuple[tuple[int, int], ...]

    @property
    def prompt_is_prefix(self) -> bool:
        return self.full.startswith(self.prompt)


def render_turn(renderer: Renderer, messages: list[dict[str, Any]], tools: Any, i: int) -> TurnRender:
    """Render the prompt the model sees before message ``i`` and the text ending with it."""
    is_assistant = messages[i]["role"] == "assistant"
    try:
        prompt = renderer.render(messages[:i], tools, add_generation_prompt=is_assistant).text
    except RecordError:
        if i:
            raise
        prompt = ""  # a template that refuses an empty history: the first message has no prompt
    full = renderer.render(messages[: i + 1], tools, track=is_assistant)
    return TurnRender(i, prompt, full.text, full.generation)


def completion_spans(turn: TurnRender, tagged: bool) -> list[tuple[int, int]]:
    """Trained chars of a turn rendered last: its generation blocks, or everything after the prompt."""
    lo, hi = len(turn.prompt), len(turn.full)
    if not tagged:
        return [(lo, hi)]
    out = [(max(s, lo), min(e, hi)) for s, e in turn.generation if e > lo]
    return [(s, e) for s, e in out if e > s]


def not_prefix_issue(msg: int) -> Issue:
    return Issue(
        "TEMPLATE_PROMPT_NOT_PREFIX",
        "the inference prompt is not a prefix of the conversation rendered up to this turn; "
        "the template renders the prompt alone differently",
        path=f"messages[{msg}]",
        severity="warning",
    )


def no_tokens_issue(msg: int) -> Issue:
    return Issue("SPAN_EMPTY", "the trained message maps to no tokens", path=f"messages[{msg}]", severity="warning")


__all__ = [
    "CharSpan",
    "TokenSpan",
    "TurnRender",
    "attribute_generation",
    "boundary_ok",
    "completion_spans",
    "no_tokens_issue",
    "not_prefix_issue",
    "render_turn",
    "to_token_span",
]
