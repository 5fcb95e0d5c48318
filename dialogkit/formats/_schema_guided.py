"""Schema-guided dialogues (SGD, MultiWOZ 2.2) to dialogkit dialogs.

Both data sets share one layout: a ``schema.json`` of services (slots, intents) and
``dialogues_NNN.json`` files of ``{dialogue_id, services, turns[{speaker, utterance,
frames[{service, actions, slots, state (USER), service_call + service_results (SYSTEM)}]}]}``.
The mapping (documented in ``docs/formats.md``):

* every intent of every service of the dialogue becomes a tool (named after the intent);
* a USER turn is a user message with the frames' actions as ``acts``; its frames' states
  become the ``state`` of the first assistant message that follows;
* a SYSTEM turn with service calls is an assistant message with the calls (ids
  ``call_<m>_<k>``), one tool message per call holding ``service_results``, then an
  assistant message with the utterance and the system ``acts``; without calls it is one
  assistant message holding both the state and the acts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError
from dialogkit.formats._common import expect, read_json_file

SPLITS = ("train", "dev", "test", "val", "validation")


# ----------------------------------------------------------------------------- files, schema
def dialogue_files(path: Path) -> list[Path]:
    """``path`` itself, or the ``dialogues_*.json`` of a split folder (or of its split subfolders)."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    files = sorted(path.glob("dialogues_*.json")) or sorted(path.glob("*/dialogues_*.json"))
    if not files:
        raise InputError(f"{path}: no dialogues_*.json files in this folder or its split folders")
    return files


def find_beside(file: Path, name: str, given: Path | None) -> Path | None:
    """``given``, else ``name`` in the file's folder or the folder above it (MultiWOZ 2.2 layout)."""
    if given is not None:
        if not Path(given).is_file():
            raise InputError(f"{given}: no such file")
        return Path(given)
    for folder in (file.parent, file.parent.parent):
        if (folder / name).is_file():
            return folder / name
    return None


def load_schema(path: Path) -> dict[str, dict[str, Any]]:
    """Services by name from a ``schema.json`` list."""
    data = read_json_file(path)
    if not isinstance(data, list) or not all(isinstance(s, dict) and isinstance(s.get("service_name"), str)
                                              for s in data):
        raise InputError(f"{path}: not a schema.json (a list of services with service_name)")
    return {s["service_name"]: s for s in data}


# ------------------------------------------------------------------------------------- tools
def intent_tool(service: dict[str, Any], intent: dict[str, Any], name: str) -> dict[str, Any]:
    """One intent as an OpenAI-style tool: required slots required, optional ones with defaults."""
    slots = {s.get("name"): s for s in service.get("slots", []) if isinstance(s, dict)}
    optional = intent.get("optional_slots") or {}
    props: dict[str, Any] = {}
    for slot in [*intent.get("required_slots", []), *optional]:
        spec = slots.get(slot, {})
        prop: dict[str, Any] = {"type": "string", "description": spec.get("description", "")}
        values = list(spec.get("possible_values") or [])
        if spec.get("is_categorical") and values:
            if optional.get(slot) == "dontcare" and "dontcare" not in values:
                values.append("dontcare")
            prop["enum"] = values
        if slot in optional:
            prop["default"] = optional[slot]
        props[slot] = prop
    desc = intent.get("description", "").rstrip()
    desc += "" if not desc or desc.endswith(".") else "."
    desc += f" Service {service['service_name']}: {service.get('description', '').rstrip('.')}."
    if intent.get("result_slots"):
        desc += f" Returns a list of results with: {', '.join(intent['result_slots'])}."
    params = {"type": "object", "properties": props, "required": list(intent.get("required_slots", [])),
              "additionalProperties": False}
    return {"type": "function", "function": {"name": name, "description": desc, "parameters": params}}


def dialogue_tools(services: list[str], schema: dict[str, dict[str, Any]]) -> tuple[list[dict], dict]:
    """Tools for the dialogue's services and ``(service, intent) -> tool name``.

    Tools are named after their intent (that is what ``service_call.method`` holds); only
    when two services of one dialogue share an intent name are they qualified as
    ``<service>__<intent>``.
    """
    pairs = [(s, i) for s in services for i in schema[s].get("intents", []) if isinstance(i, dict)]
    counts: dict[str, int] = {}
    for _, intent in pairs:
        counts[intent["name"]] = counts.get(intent["name"], 0) + 1
    names = {(s, i["name"]): i["name"] if counts[i["name"]] == 1 else f"{s}__{i['name']}" for s, i in pairs}
    tools = [intent_tool(schema[s], i, names[(s, i["name"])]) for s, i in pairs]
    return tools, names


# ------------------------------------------------------------------------------ state, goal
def frame_state(state: Any, path: str) -> dict[str, Any]:
    """An SGD frame ``state`` as a dialogkit ``FrameState`` dict (``NONE`` intent left out)."""
    expect(state, dict, path)
    out: dict[str, Any] = {}
    intent = state.get("active_intent")
    if intent not in (None, "", "NONE"):
        out["active_intent"] = expect(intent, str, f"{path}.active_intent")
    slots = expect(state.get("slot_values", {}), dict, f"{path}.slot_values")
    for slot, value in slots.items():
        vals = value if isinstance(value, list) else [value]
        for v in vals:
            expect(v, (str, int, float, bool), f"{path}.slot_values.{slot}")
    if slots:
        out["slots"] = dict(slots)
    requested = expect(state.get("requested_slots", []), list, f"{path}.requested_slots")
    if requested:
        out["requested_slots"] = list(requested)
    return out


@dataclass
class Tracker:
    """What the dialogue has said so far: last frame per service, active domain, goal parts."""

    drop_empty: bool = False
    prev: dict[str, dict[str, Any]] = field(default_factory=dict)
    domain: str | None = None
    intents: list[str] = field(default_factory=list)
    goals: dict[str, dict[str, Any]] = field(default_factory=dict)

    def user_state(self, frames: list[Any], path: str) -> dict[str, Any]:
        """The ``DialogState`` dict of one USER turn (top level = the service that changed)."""
        states: dict[str, dict[str, Any]] = {}
        for f, frame in enumerate(frames):
            if isinstance(frame, dict) and "state" in frame:
                fs = frame_state(frame["state"], f"{path}[{f}].state")
                if fs or not self.drop_empty:
                    states[frame["service"]] = fs
                self._note_goal(frame["service"], fs)
        changed = [s for s in states if states[s] != self.prev.get(s)]
        top = changed[0] if changed else (self.domain if self.domain in states else next(iter(states), None))
        self.prev.update(states)
        if top is None:
            return {}
        self.domain = top
        out = {"domain": top, **states[top]}
        others = {s: fs for s, fs in states.items() if s != top}
        if others:
            out["frames"] = others
        return out

    def _note_goal(self, service: str, fs: dict[str, Any]) -> None:
        g = self.goals.setdefault(service, {"intents": [], "constraints": {}, "requests": []})
        intent = fs.get("active_intent")
        for bucket in (self.intents, g["intents"]):
            if intent and intent not in bucket:
                bucket.append(intent)
        if "slots" in fs:
            g["constraints"] = dict(fs["slots"])
        g["requests"] += [r for r in fs.get("requested_slots", []) if r not in g["requests"]]

    def goal(self) -> dict[str, Any] | None:
        """Intents in order of use; per service the final slot values and every requested slot."""
        domains = {s: {k: v for k, v in g.items() if v} for s, g in self.goals.items()}
        domains = {s: g for s, g in domains.items() if g}
        if not domains and not self.intents:
            return None
        goal: dict[str, Any] = {"intents": list(self.intents), "domains": domains}
        if len(domains) == 1:
            only = next(iter(domains.values()))
            goal.update({k: only[k] for k in ("constraints", "requests") if k in only})
        return goal


def actions_to_acts(actions: Any, service: str, path: str) -> list[dict[str, Any]]:
    """SGD frame ``actions`` as dialogkit ``DialogAct`` dicts (``domain`` = the service)."""
    acts = []
    for a, action in enumerate(expect(actions, list, path)):
        expect(action, dict, f"{path}[{a}]")
        act: dict[str, Any] = {"act": expect(action.get("act"), str, f"{path}[{a}].act", "act")}
        if action.get("slot"):
            act["slot"] = action["slot"]
        act["values"] = list(action.get("values") or [])
        if "canonical_values" in action:
            act["canonical_values"] = list(action["canonical_values"] or [])
        act["domain"] = service
        acts.append(act)
    return acts


def split_of(file: Path) -> str | None:
    """The split a dialogues file belongs to, from its folder name."""
    return file.parent.name if file.parent.name in SPLITS else None


def file_label(file: Path) -> str:
    """``train/dialogues_001.json``: where a dialog came from, independent of the machine."""
    split = split_of(file)
    return f"{split}/{file.name}" if split else file.name
