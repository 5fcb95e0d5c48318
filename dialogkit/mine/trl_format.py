"""TRL's conversational preference format (``DPOTrainer`` in TRL 1.16).

One row per pair: ``prompt``, ``chosen`` and ``rejected`` are lists of OpenAI-style messages and
``tools`` the tool schemas. TRL's DPO tokenizer renders ``prompt`` with the generation prompt and
``prompt + chosen`` / ``prompt + rejected`` whole, passing ``tools`` to the chat template; it
accepts ``tools`` as a JSON string (``json.loads`` when it is one), which is how it is written
here: Arrow would otherwise fill missing keys of heterogeneous schemas with nulls. For the same
reason tool-call ``arguments`` are JSON strings by default (what OpenAI sends; Qwen, Hermes and
most templates print a string as is); ``arguments="object"`` writes dicts for templates that
``tojson`` them unconditionally (Llama 3.1).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from dialogkit.formats._common import result_to_text
from dialogkit.schema import PreferencePair

ArgumentsForm = Literal["string", "object"]


def message_to_trl(msg: Any, arguments: ArgumentsForm = "string") -> dict[str, Any]:
    """One dialogkit message as a chat-template message (labels such as state/acts are left out)."""
    if msg.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": msg.tool_call_id,
            "name": msg.name,
            "content": result_to_text(msg.content),
        }
    d: dict[str, Any] = {"role": msg.role, "content": msg.content}
    if msg.role == "assistant":
        if msg.tool_calls:
            d["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {
                        "name": c.name,
                        "arguments": json.dumps(c.arguments, ensure_ascii=False)
                        if arguments == "string"
                        else c.arguments,
                    },
                }
                for c in msg.tool_calls
            ]
        if msg.reasoning is not None:
            d["reasoning_content"] = msg.reasoning
    return d


def pair_to_trl(pair: PreferencePair, arguments: ArgumentsForm = "string") -> dict[str, Any]:
    """A TRL preference row; ``id`` and flat metadata columns ride along (trainers ignore them)."""
    tools = [
        {"type": "function", "function": t.function.model_dump(mode="json", exclude_none=True)}
        for t in pair.tools
    ]
    return {
        "id": pair.id,
        "prompt": [message_to_trl(m, arguments) for m in pair.prompt],
        "chosen": [message_to_trl(m, arguments) for m in pair.chosen],
        "rejected": [message_to_trl(m, arguments) for m in pair.rejected],
        "tools": json.dumps(tools, ensure_ascii=False) if tools else None,
        "negative_type": pair.metadata.negative_type,
        "source_id": pair.metadata.source_id,
        "turn": pair.metadata.turn,
    }
