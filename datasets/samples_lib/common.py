"""Message constructors shared by the sample builders."""

from __future__ import annotations

from typing import Any


def act(name: str, slot: str | None = None, values: list[Any] | None = None, domain: str | None = None) -> dict:
    out: dict[str, Any] = {"act": name}
    if slot:
        out["slot"] = slot
    if values:
        out["values"] = list(values)
    if domain:
        out["domain"] = domain
    return out


def user(text: str, acts: list[dict] | None = None) -> dict:
    return {"role": "user", "content": text, **({"acts": acts} if acts else {})}


def assistant(text: str, state: dict | None = None, acts: list[dict] | None = None) -> dict:
    out: dict[str, Any] = {"role": "assistant", "content": text}
    if state is not None:
        out["state"] = state
    if acts:
        out["acts"] = acts
    return out


def call(messages: list[dict], calls: list[tuple[str, dict, Any]], state: dict | None = None) -> None:
    """Append an assistant message with ``calls`` (ids ``call_<m>_<k>``) and one tool result each."""
    m = len(messages)
    msg: dict[str, Any] = {"role": "assistant", "content": "", "tool_calls": [
        {"id": f"call_{m}_{k}", "name": name, "arguments": args} for k, (name, args, _) in enumerate(calls)]}
    if state is not None:
        msg["state"] = state
    messages.append(msg)
    for k, (name, _, result) in enumerate(calls):
        messages.append({"role": "tool", "tool_call_id": f"call_{m}_{k}", "name": name, "content": result})


def tool(name: str, description: str, props: dict[str, dict], required: list[str]) -> dict:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": props, "required": required}}}


def state(domain: str, intent: str | None, slots: dict[str, Any], requested: list[str] | None = None) -> dict:
    out: dict[str, Any] = {"domain": domain}
    if intent:
        out["active_intent"] = intent
    if slots:
        out["slots"] = dict(slots)
    if requested:
        out["requested_slots"] = list(requested)
    return out
