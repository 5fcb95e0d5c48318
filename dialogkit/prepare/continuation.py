"""Prompt + continuation -> (prompt_ids, completion_ids), boundary-exact (for preference pairs).

DPO-style trainers score only the continuation. Its prompt ids must be exactly what the model
is given at inference (``add_generation_prompt=True``); when a token would merge across the
boundary, the prompt keeps its own tokens and the continuation is tokenized on its own (and
the merge is counted), instead of shifting the boundary as TRL's common-prefix rule does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from dialogkit.errors import Issue, RecordError
from dialogkit.prepare.encode import PieceEncoder, prefix_matches
from dialogkit.prepare.engine import resolve_template
from dialogkit.prepare.render import Renderer, message_dict, template_vars, tool_dict
from dialogkit.schema import ToolSpec


class Continuation(NamedTuple):
    prompt_ids: list[int]
    completion_ids: list[int]


class ContinuationEncoder:
    """Reusable encoder; ``merges`` counts continuations whose boundary a token crossed."""

    def __init__(self, tokenizer: Any, chat_template: str | None = None,
                 chat_template_kwargs: dict[str, Any] | None = None):
        variables = {**template_vars(tokenizer), **(chat_template_kwargs or {})}
        self.renderer = Renderer(resolve_template(tokenizer, chat_template), variables)
        self.encoder = PieceEncoder(tokenizer)
        self.merges = 0

    def encode(self, prompt: Sequence[Any], continuation: Sequence[Any],
               tools: Sequence[ToolSpec] = ()) -> Continuation:
        """Token ids of the inference prompt and of the continuation that follows it.

        Raises:
            RecordError: TEMPLATE_PROMPT_NOT_PREFIX when the template renders the prompt
                alone differently from the start of prompt + continuation.
        """
        msgs = [m if isinstance(m, dict) else message_dict(m) for m in prompt]
        cont = [m if isinstance(m, dict) else message_dict(m) for m in continuation]
        tool_dicts = [t if isinstance(t, dict) else tool_dict(t) for t in tools] or None
        p_text = self.renderer.render(msgs, tool_dicts, add_generation_prompt=True).text
        f_text = self.renderer.render(msgs + cont, tool_dicts).text
        if not f_text.startswith(p_text):
            raise RecordError([Issue("TEMPLATE_PROMPT_NOT_PREFIX", "the inference prompt is not a prefix of "
                                     "prompt + continuation as the template renders them")])
        p_ids = self.encoder.encode(p_text).ids
        full = self.encoder.encode(f_text)
        if full.ids[: len(p_ids)] == p_ids and prefix_matches(full, len(p_ids), len(p_text), f_text, self.encoder):
            return Continuation(p_ids, full.ids[len(p_ids):])
        self.merges += 1
        return Continuation(p_ids, self.encoder.encode(f_text[len(p_text):]).ids)


def encode_continuation(tokenizer: Any, prompt: Sequence[Any], continuation: Sequence[Any],
                        tools: Sequence[ToolSpec] = (), chat_template: str | None = None) -> Continuation:
    """One-off :meth:`ContinuationEncoder.encode` (build the encoder once for many pairs)."""
    return ContinuationEncoder(tokenizer, chat_template).encode(prompt, continuation, tools)
