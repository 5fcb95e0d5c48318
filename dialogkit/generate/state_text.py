"""A dialog state as one line of text, so a model can write its belief before it acts.

SimpleTOD-style: an assistant turn's ``state`` is written into its reasoning (the ``<think>``
block of dialogkit's template) as ``domain: intent; slot=value; ?requested`` per frame, frames
joined by `` / ``. Training dialogs carry it (:func:`state_in_reasoning`); a generated turn's
reasoning is read back with :func:`parse_state`, so state-tracking metrics (slot F1, joint goal
accuracy) measure what the model believes rather than nothing.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from dialogkit.schema import DialogState, FrameState

PREFIX = "state "


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "|".join(map(str, v))
    return str(v)


def format_frame(name: str, frame: dict[str, Any]) -> str:
    parts = [f"{name}: {frame.get('active_intent') or 'none'}"]
    parts += [f"{k}={_value(v)}" for k, v in (frame.get("slots") or {}).items()]
    parts += [f"?{r}" for r in frame.get("requested_slots") or []]
    return "; ".join(parts)


def format_state(state: dict[str, Any]) -> str:
    """``domain: intent; slot=value; ?requested`` per frame, frames joined by `` / ``."""
    frames = [format_frame(state.get("domain") or "_", state)]
    frames += [format_frame(name, f) for name, f in (state.get("frames") or {}).items()]
    return PREFIX + " / ".join(frames)


def state_in_reasoning(record: dict[str, Any]) -> dict[str, Any]:
    """A copy whose assistant turns carry their state as reasoning (turns without a state unchanged)."""
    rec = copy.deepcopy(record)
    for msg in rec.get("messages") or []:
        if msg.get("role") == "assistant" and isinstance(msg.get("state"), dict) and not msg.get("reasoning"):
            msg["reasoning"] = format_state(msg["state"])
    return rec


_ITEM = re.compile(r"^([^=?;]+?)=(.*)$")


def _parse_frame(text: str) -> tuple[str, FrameState] | None:
    head, _, rest = text.partition(";")
    name, sep, intent = head.partition(":")
    if not sep or not name.strip():
        return None
    slots: dict[str, Any] = {}
    requested: list[str] = []
    for part in rest.split(";"):
        part = part.strip()
        if part.startswith("?") and len(part) > 1:
            requested.append(part[1:].strip())
        elif (m := _ITEM.match(part)) is not None:
            raw = m.group(2).strip()
            slots[m.group(1).strip()] = int(raw) if raw.isdigit() and not raw.startswith("0") else raw
    intent = intent.strip()
    return name.strip(), FrameState(active_intent=None if intent in ("", "none") else intent,
                                    slots=slots, requested_slots=requested)


def parse_state(reasoning: str | None) -> DialogState | None:
    """A state written by :func:`format_state` (or a model imitating it); ``None`` when absent."""
    if not reasoning or not reasoning.lstrip().startswith(PREFIX):
        return None
    frames = [f for f in (_parse_frame(p) for p in reasoning.strip()[len(PREFIX):].split(" / ")) if f is not None]
    if not frames:
        return None
    (domain, top), rest = frames[0], frames[1:]
    return DialogState(domain=None if domain == "_" else domain, active_intent=top.active_intent,
                       slots=top.slots, requested_slots=top.requested_slots,
                       frames={name: f for name, f in rest})
