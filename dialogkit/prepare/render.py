"""Dialogs -> the dicts chat templates expect, and one renderer that records generation spans.

Every conversion from dialogkit messages to template messages happens here, so the rules
hold everywhere: tool calls are ``{"type": "function", "id", "function": {"name", "arguments":
dict}}`` (templates ``tojson`` them), a tool result that is JSON is dumped once with
``ensure_ascii=False``, reasoning goes to ``reasoning_content``, and a key that is absent in
the dialog is absent in the dict (never ``None``: templates render ``null`` for it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dialogkit.errors import Issue, RecordError
from dialogkit.prepare.sandbox import speed_up
from dialogkit.schema import AssistantMessage, Dialog, ToolMessage, ToolSpec

GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


def has_generation_tags(template: str) -> bool:
    """Whether ``template`` marks assistant output with ``{% generation %}`` (``{%-``/``-%}`` too)."""
    return GENERATION_TAG.search(template) is not None


def tool_content(content: Any) -> str:
    """A tool result as the text a template shows: strings as is, JSON dumped compactly, readable."""
    if isinstance(content, str):
        return content
    return json.dumps(content, ensure_ascii=False)


def message_dict(msg: Any) -> dict[str, Any]:
    """One dialogkit message as the template dict (only keys that carry a value)."""
    if isinstance(msg, AssistantMessage):
        d: dict[str, Any] = {"role": "assistant", "content": msg.content}
        if msg.tool_calls:
            d["tool_calls"] = [
                {"type": "function", "id": c.id, "function": {"name": c.name, "arguments": c.arguments}}
                for c in msg.tool_calls
            ]
        if msg.reasoning is not None:
            d["reasoning_content"] = msg.reasoning
        return d
    if isinstance(msg, ToolMessage):
        return {"role": "tool", "tool_call_id": msg.tool_call_id, "name": msg.name, "content": tool_content(msg.content)}
    return {"role": msg.role, "content": msg.content}


def tool_dict(tool: ToolSpec) -> dict[str, Any]:
    fn = tool.function
    f: dict[str, Any] = {"name": fn.name, "description": fn.description, "parameters": fn.parameters}
    if fn.strict is not None:
        f["strict"] = fn.strict
    return {"type": "function", "function": f}


def template_inputs(dialog: Dialog) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """``(messages, tools)`` for ``apply_chat_template``; ``tools`` is None when the dialog has none."""
    messages = [message_dict(m) for m in dialog.messages]
    tools = [tool_dict(t) for t in dialog.tools] or None
    return messages, tools


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    # (start, end) character ranges of {% generation %} blocks, in order; empty when not tracked.
    generation: tuple[tuple[int, int], ...] = ()


def _alias_reasoning(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # transformers gives templates the reasoning under every name they read it by
    return [
        {"thinking": m["reasoning_content"], **m} if m.get("reasoning_content") is not None else m for m in messages
    ]


class Renderer:
    """Renders a chat template exactly as ``tokenizer.apply_chat_template`` does.

    The template is compiled by transformers' own function (same sandbox, ``tojson``,
    ``raise_exception``, ``{% generation %}`` tracker) into a private environment whose
    sandbox checks are cached (see :mod:`dialogkit.prepare.sandbox`, same results). Inputs come from
    :func:`template_inputs`, so they are already plain JSON data.
    """

    def __init__(self, template: str, template_vars: dict[str, Any] | None = None, fast: bool = True):
        from transformers.utils import chat_template_utils as ctu

        self.template = template
        self.tagged = has_generation_tags(template)
        self._compiled = ctu._cached_compile_jinja_template(template)  # a private copy, not the shared cache
        if fast:  # False: transformers' sandbox untouched (the reference the fast path is tested against)
            speed_up(self._compiled.environment)
        self._with_indices = ctu._render_with_assistant_indices
        self._vars = dict(template_vars or {})

    def render(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        add_generation_prompt: bool = False,
        track: bool = False,
    ) -> Rendered:
        """Render ``messages``; ``track`` records generation spans (tagged templates only).

        Raises:
            RecordError: TEMPLATE_RENDER_ERROR when the template raises (e.g. on a role it refuses).
        """
        track = track and self.tagged
        chat = _alias_reasoning(messages)
        try:
            if track:
                text, indices = self._with_indices(self._compiled, chat, tools, None, add_generation_prompt,
                                                   **self._vars)
                return Rendered(text, tuple(tuple(x) for x in indices))
            return Rendered(self._compiled.render(messages=chat, tools=tools, documents=None,
                                                  add_generation_prompt=add_generation_prompt, **self._vars))
        except Exception as e:  # noqa: BLE001 - Jinja raises many types; all mean "this record can't render"
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise RecordError([Issue("TEMPLATE_RENDER_ERROR", f"chat template failed: {msg}")]) from e


def template_vars(tokenizer: Any) -> dict[str, Any]:
    """The variables ``apply_chat_template`` gives every template (``bos_token``, ``eos_token`` ...)."""
    return dict(tokenizer.special_tokens_map)
