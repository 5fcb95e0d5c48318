"""One schema-guided dialogue (SGD or MultiWOZ 2.2) as a dialogkit-shaped dict.

See :mod:`dialogkit.formats._schema_guided` for the mapping; this module walks the turns.
Every structural defect is a :class:`FormatError` whose path is in the *source* dialogue
(``turns[5].frames[0].service_call.method``), so users can find it in the SGD file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialogkit.formats._common import FormatError, call_id, expect, failed
from dialogkit.formats._schema_guided import Tracker, actions_to_acts, dialogue_tools
from dialogkit.io import Raw, iter_json_file


@dataclass
class Source:
    """How to read one dialogues file: its schema and the per-data-set differences."""

    name: str  # "sgd" or "multiwoz"
    schema: dict[str, dict[str, Any]]
    split: str | None
    file_label: str
    drop_empty_frames: bool = False  # MultiWOZ lists every service in every turn
    dialog_acts: dict[str, Any] | None = None  # MultiWOZ 2.2 dialog_acts.json
    version: str | None = None

    def dialog_id(self, dialogue_id: str) -> str:
        # mwzeval keys dialogues as "pmul4398"; SGD ids ("1_00000") are kept as they are.
        if self.name == "multiwoz":
            return dialogue_id.removesuffix(".json").lower()
        return dialogue_id


def read_dialogues(files: list[Path], make_source: Callable[[Path], Source]) -> Iterator[Raw]:
    """Raw dialogkit-shaped records of every dialogue in ``files``, each at its line."""
    for file in files:
        source = make_source(file)
        for raw in iter_json_file(file):
            if not raw.ok:
                yield raw
                continue
            did = raw.data.get("dialogue_id") if isinstance(raw.data, dict) else None
            rid = did if isinstance(did, str) else None
            try:
                data = dialogue_to_dialog(raw.data, source)
            except FormatError as e:
                yield failed(raw, e, rid)
                continue
            yield Raw(raw.file, raw.line, data)


def _services(d: dict[str, Any], turns: list[Any], source: Source) -> list[str]:
    """The dialogue's services, then any service a frame names that the list forgot."""
    services = list(expect(d.get("services", []), list, "services"))
    for t, turn in enumerate(turns):
        frames = expect(turn, dict, f"turns[{t}]").get("frames", [])
        for f, frame in enumerate(expect(frames, list, f"turns[{t}].frames")):
            svc = expect(expect(frame, dict, f"turns[{t}].frames[{f}]").get("service"), str,
                         f"turns[{t}].frames[{f}].service", "service")
            if svc not in services and _says_something(frame):
                services.append(svc)
    for i, svc in enumerate(services):
        if svc not in source.schema:
            raise FormatError("SCHEMA_SERVICE_UNKNOWN", f"service {svc!r} is not in schema.json", f"services[{i}]")
    return services


def _says_something(frame: dict[str, Any]) -> bool:
    # MultiWOZ 2.2 lists all eight services in every turn; only frames with content count.
    state = frame.get("state")
    busy = isinstance(state, dict) and (state.get("active_intent") not in (None, "", "NONE")
                                        or state.get("slot_values") or state.get("requested_slots"))
    return bool(busy or frame.get("actions") or "service_call" in frame)


def dialogue_to_dialog(d: Any, source: Source) -> dict[str, Any]:
    """Map one dialogue; raises :class:`FormatError` on the first structural defect."""
    expect(d, dict, None, "dialogue")
    did = expect(d.get("dialogue_id"), str, "dialogue_id", "dialogue_id")
    turns = expect(d.get("turns"), list, "turns", "turns")
    services = _services(d, turns, source)
    tools, names = dialogue_tools(services, source.schema)
    acts_file = (source.dialog_acts or {}).get(did) if source.dialog_acts is not None else None
    tracker = Tracker(drop_empty=source.drop_empty_frames)
    messages: list[dict[str, Any]] = []
    pending: dict[str, Any] | None = None  # state of the last USER turn, for the next assistant
    for t, turn in enumerate(turns):
        p = f"turns[{t}]"
        utterance = expect(turn.get("utterance"), str, f"{p}.utterance", "utterance")
        frames = turn.get("frames", [])
        acts = _turn_acts(turn, frames, t, source, acts_file, p)
        speaker = turn.get("speaker")
        if speaker == "USER":
            if pending is not None:
                raise FormatError("TURN_ORDER", "two USER turns in a row: the first one's state has no "
                                  "SYSTEM turn to go on", f"{p}.speaker")
            messages.append({"role": "user", "content": utterance, **({"acts": acts} if acts is not None else {})})
            pending = tracker.user_state(frames, f"{p}.frames")
        elif speaker == "SYSTEM":
            _system_turn(messages, utterance, frames, acts, pending, names, p)
            pending = None
        else:
            raise FormatError("ROLE_UNKNOWN", f"unknown speaker {speaker!r} (expected USER or SYSTEM)",
                              f"{p}.speaker")
    return _dialog(did, messages, tools, tracker, services, source)


def _dialog(did: str, messages: list, tools: list, tracker: Tracker, services: list[str],
            source: Source) -> dict[str, Any]:
    provenance: dict[str, Any] = {"file": source.file_label, "dialogue_id": did}
    if source.version:
        provenance["version"] = source.version
    metadata: dict[str, Any] = {"source": source.name, "domain": services, "language": "en",
                                "provenance": provenance}
    if source.split:
        metadata["split"] = source.split
    out: dict[str, Any] = {"id": source.dialog_id(did), "messages": messages, "tools": tools}
    goal = tracker.goal()
    if goal is not None:
        out["goal"] = goal
    out["metadata"] = metadata
    return out


def _system_turn(messages: list, utterance: str, frames: list, acts: list | None,
                 state: dict | None, names: dict, p: str) -> None:
    """Append the assistant (and tool) messages of one SYSTEM turn."""
    calls = [(f, fr) for f, fr in enumerate(frames) if "service_call" in fr]
    final: dict[str, Any] = {"role": "assistant", "content": utterance}
    if calls:
        m = len(messages)
        tool_calls, results = [], []
        for k, (f, frame) in enumerate(calls):
            fp = f"{p}.frames[{f}]"
            call = expect(frame["service_call"], dict, f"{fp}.service_call")
            method = expect(call.get("method"), str, f"{fp}.service_call.method", "method")
            name = names.get((frame["service"], method))
            if name is None:
                raise FormatError("SCHEMA_METHOD_UNKNOWN", f"{method!r} is not an intent of service "
                                  f"{frame['service']!r} in schema.json", f"{fp}.service_call.method")
            params = expect(call.get("parameters", {}), dict, f"{fp}.service_call.parameters")
            result = expect(frame.get("service_results"), list, f"{fp}.service_results", "service_results")
            tool_calls.append({"id": call_id(m, k), "name": name, "arguments": params})
            results.append({"role": "tool", "tool_call_id": call_id(m, k), "name": name, "content": result})
        call_msg: dict[str, Any] = {"role": "assistant", "content": "", "tool_calls": tool_calls}
        if state is not None:
            call_msg["state"] = state
        messages += [call_msg, *results]
    elif state is not None:
        final["state"] = state
    if acts is not None:
        final["acts"] = acts
    messages.append(final)


def _turn_acts(turn: dict, frames: list, t: int, source: Source, acts_file: Any, p: str) -> list | None:
    """The turn's dialog acts; ``None`` when the data set did not annotate them."""
    if source.dialog_acts is not None:
        entry = acts_file.get(str(turn.get("turn_id", t))) if isinstance(acts_file, dict) else None
        return _multiwoz_acts(entry, p) if entry is not None else None
    acts = []
    for f, frame in enumerate(frames):
        if "actions" in frame:
            acts += actions_to_acts(frame["actions"], frame["service"], f"{p}.frames[{f}].actions")
    if source.name == "multiwoz" and not acts:
        return None  # MultiWOZ 2.2 keeps acts in dialog_acts.json; empty actions mean "not here"
    return acts


def _multiwoz_acts(entry: Any, p: str) -> list[dict[str, Any]]:
    """``{"Restaurant-Inform": [["area", "centre"]]}`` -> INFORM-style act dicts."""
    acts = []
    table = expect(entry, dict, f"dialog_acts[{p}]").get("dialog_act", {})
    for name, pairs in expect(table, dict, f"dialog_acts[{p}].dialog_act").items():
        domain, _, act = name.partition("-")
        for pair in expect(pairs, list, f"dialog_acts[{p}].dialog_act.{name}"):
            slot, value = (list(pair) + [None, None])[:2] if isinstance(pair, list) else (None, None)
            a: dict[str, Any] = {"act": (act or domain).upper(), "domain": domain.lower()}
            if slot not in (None, "", "none"):
                a["slot"] = slot
            a["values"] = [] if value in (None, "", "none") else [value]
            acts.append(a)
    return acts
