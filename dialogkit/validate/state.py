"""Domain schemas (SGD / MultiWOZ ``schema.json`` or a dialogkit domain file) and state rules.

A schema is a list of services, each with intents and slots; a categorical slot lists its
possible values. MultiWOZ 2.2 prefixes slot names with the domain (``hotel-pricerange``);
both the prefixed and the bare name are accepted. Names and values compare case-insensitively
(SGD writes ``True``, MultiWOZ ``yes``), and ``dontcare`` is always a valid value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError
from dialogkit.validate.tools import Emit

SPECIAL_VALUES = frozenset({"dontcare", "don't care", "do not care"})
NO_INTENT = frozenset({"none", ""})


@dataclass
class Slot:
    name: str
    categorical: bool = False
    values: frozenset[str] = frozenset()


@dataclass
class Service:
    name: str
    intents: set[str] = field(default_factory=set)
    slots: dict[str, Slot] = field(default_factory=dict)  # lower-case name -> slot
    intent_names: list[str] = field(default_factory=list)
    slot_names: list[str] = field(default_factory=list)


@dataclass
class DomainSchema:
    """Services by lower-case name, plus an index of every slot for frames without a domain."""

    services: dict[str, Service]
    source: str = ""

    def service(self, name: str | None) -> Service | None:
        return self.services.get(name.lower()) if name else None

    def any_slot(self, name: str) -> Slot | None:
        for svc in self.services.values():
            if (s := svc.slots.get(name.lower())) is not None:
                return s
        return None

    def any_intent(self, name: str) -> bool:
        return any(name.lower() in svc.intents for svc in self.services.values())


def _service(entry: Any, where: str) -> Service:
    if not isinstance(entry, dict):
        raise InputError(f"{where}: a service must be an object")
    name = entry.get("service_name") or entry.get("name") or entry.get("domain")
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}: a service needs a 'service_name'")
    svc = Service(name)
    for intent in entry.get("intents") or []:
        iname = intent.get("name") if isinstance(intent, dict) else intent
        if isinstance(iname, str):
            svc.intents.add(iname.lower())
            svc.intent_names.append(iname)
    for slot in entry.get("slots") or []:
        if isinstance(slot, str):
            slot = {"name": slot}
        sname = slot.get("name") if isinstance(slot, dict) else None
        if not isinstance(sname, str):
            raise InputError(f"{where}: service {name!r} has a slot without a name")
        values = frozenset(str(v).lower() for v in slot.get("possible_values") or [])
        s = Slot(sname, bool(slot.get("is_categorical")) and bool(values), values)
        svc.slot_names.append(sname)
        svc.slots[sname.lower()] = s
        prefix, sep, bare = sname.partition("-")
        if sep and prefix.lower() == name.lower():
            svc.slots.setdefault(bare.lower(), s)  # MultiWOZ: "hotel-area" is also "area"
    return svc


def load_domain_schema(path: str | Path) -> DomainSchema:
    """Read a schema file: a JSON/YAML list of services, ``{"services": [...]}`` or one service."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such domain schema file")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (ValueError, ImportError) as e:
        raise InputError(f"{path}: cannot read the domain schema: {e}") from e
    if isinstance(data, dict):
        data = data.get("services", [data] if ("service_name" in data or "intents" in data) else None)
    if not isinstance(data, list) or not data:
        raise InputError(f"{path}: a domain schema is a list of services (SGD/MultiWOZ schema.json)")
    services = [_service(e, f"{path}: services[{i}]") for i, e in enumerate(data)]
    return DomainSchema({s.name.lower(): s for s in services}, str(path))


def _check_frame(frame: dict[str, Any], svc: Service | None, schema: DomainSchema, path: str, emit: Emit) -> None:
    intent = frame.get("active_intent")
    if intent and intent.lower() not in NO_INTENT:
        known = intent.lower() in svc.intents if svc else schema.any_intent(intent)
        if not known:
            emit(("STATE_INTENT_UNKNOWN", f"{path}.active_intent", f"intent {intent!r} is not in {_where(svc)}"))
    for name, value in (frame.get("slots") or {}).items():
        slot = svc.slots.get(name.lower()) if svc else schema.any_slot(name)
        if slot is None:
            emit(("STATE_SLOT_UNKNOWN", f"{path}.slots.{name}", f"slot {name!r} is not in {_where(svc)}"))
            continue
        if not slot.categorical:
            continue
        for v in value if isinstance(value, list) else [value]:
            text = str(v).lower()
            if isinstance(v, bool):
                text = "true" if v else "false"
            if text not in slot.values and text not in SPECIAL_VALUES:
                allowed = ", ".join(sorted(slot.values))
                emit(("STATE_VALUE_INVALID", f"{path}.slots.{name}",
                      f"{v!r} is not a possible value of {slot.name} ({allowed})"))
    for k, name in enumerate(frame.get("requested_slots") or []):
        if (svc.slots.get(name.lower()) if svc else schema.any_slot(name)) is None:
            emit(("STATE_SLOT_UNKNOWN", f"{path}.requested_slots[{k}]", f"slot {name!r} is not in {_where(svc)}"))


def _where(svc: Service | None) -> str:
    return f"service {svc.name}" if svc else "any service of the schema"


def _frame_service(domain: Any, schema: DomainSchema, path: str, emit: Emit) -> tuple[bool, Service | None]:
    if not domain:
        return True, None
    svc = schema.service(domain)
    if svc is None:
        emit(("STATE_DOMAIN_UNKNOWN", path, f"service {domain!r} is not in the schema ({schema.source})"))
        return False, None
    return True, svc


def check_state(dialog: dict[str, Any], schema: DomainSchema, emit: Emit) -> None:
    """Intents, slots and categorical values of every assistant state (and the goal) against ``schema``."""
    for i, m in enumerate(dialog["messages"]):
        state = m.get("state") if m["role"] == "assistant" else None
        if not state:
            continue
        base = f"messages[{i}].state"
        ok, svc = _frame_service(state.get("domain"), schema, f"{base}.domain", emit)
        if ok:
            _check_frame(state, svc, schema, base, emit)
        for name, frame in (state.get("frames") or {}).items():
            ok, svc = _frame_service(name, schema, f"{base}.frames.{name}", emit)
            if ok:
                _check_frame(frame, svc, schema, f"{base}.frames.{name}", emit)
    goal = dialog.get("goal")
    if goal:
        _check_goal(goal, None, schema, "goal", emit)


def _check_goal(goal: dict[str, Any], svc: Service | None, schema: DomainSchema, path: str, emit: Emit) -> None:
    for k, intent in enumerate(goal.get("intents") or []):
        if not (intent.lower() in svc.intents if svc else schema.any_intent(intent)):
            emit(("STATE_INTENT_UNKNOWN", f"{path}.intents[{k}]", f"intent {intent!r} is not in {_where(svc)}"))
    _check_frame({"slots": goal.get("constraints") or {}, "requested_slots": goal.get("requests") or []},
                 svc, schema, path, _rename(emit, ".slots.", ".constraints.", ".requested_slots[", ".requests["))
    for name, sub in (goal.get("domains") or {}).items():
        ok, sub_svc = _frame_service(name, schema, f"{path}.domains.{name}", emit)
        if ok:
            _check_goal(sub, sub_svc, schema, f"{path}.domains.{name}", emit)


def _rename(emit: Emit, *pairs: str) -> Emit:
    def out(issue: tuple[str, str | None, str]) -> None:
        code, path, msg = issue
        for old, new in zip(pairs[::2], pairs[1::2]):
            path = path.replace(old, new) if path else path
        emit((code, path, msg))

    return out
