"""Reading an mwzeval data folder and an mwzeval-format prediction file, with located issues.

Data folder (mwzeval's own layout; nothing is ever downloaded)::

    goals.json               {dialog_id: {domain: {informable, requestable, booking}}}
    booked_domains.json      {dialog_id: [[domain, ...] per system turn]}
    database/<domain>_db.json   restaurant, attraction, hotel, train
    references/mwz22.json    {dialog_id: [delexicalised, normalised system turn, ...]}
    gold_states.json         {dialog_id: [normalised state per system turn]}

Predictions: ``{dialog_id: [{"response": str, "state": {domain: {slot: value}}?,
"active_domains": [domain]?}, ...]}``. A dialogue mwzeval would crash on (unknown id, a turn
without ``response``, more turns than the reference, malformed state) is rejected with a located
issue and the others are scored, so the numbers equal mwzeval's on the input minus the rejects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from dialogkit.errors import InputError, Issue
from dialogkit.score.multiwoz.database import VenueDatabase

FILES = {
    "goals": "goals.json",
    "booked": "booked_domains.json",
    "references": "references/mwz22.json",
    "gold_states": "gold_states.json",
}
_SCALARS = (str, int, float, bool, type(None))


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise InputError(f"{path}: no such file ({what}; mwzeval data layout expected, nothing is downloaded)")
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON: {e}") from None


class MultiwozData:
    """Lazy view of an mwzeval data folder: each file is read (and checked) on first use."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"{folder}: no such folder (give --data the mwzeval data folder)")

    def has(self, name: str) -> bool:
        return (self.folder / FILES[name]).is_file()

    def _mapping(self, name: str, what: str) -> dict[str, Any]:
        data = _read_json(self.folder / FILES[name], what)
        if not isinstance(data, dict):
            raise InputError(f"{self.folder / FILES[name]}: expected a JSON object keyed by dialogue id")
        return data

    @cached_property
    def goals(self) -> dict[str, Any]:
        return self._mapping("goals", "dialogue goals")

    @cached_property
    def booked(self) -> dict[str, Any]:
        return self._mapping("booked", "booked domains per turn")

    @cached_property
    def references(self) -> dict[str, Any]:
        return self._mapping("references", "MultiWOZ 2.2 BLEU references")

    @cached_property
    def gold_states(self) -> dict[str, Any]:
        return self._mapping("gold_states", "MultiWOZ 2.2 gold dialogue states")

    @cached_property
    def database(self) -> VenueDatabase:
        return VenueDatabase.load(self.folder / "database")


@dataclass
class Predictions:
    """The dialogues that can be scored (input order) and the issues of the others."""

    dialogs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def canonical_id(raw: str) -> str:
    """mwzeval's id form: lowercase, no ``.json`` (``PMUL4398.json`` -> ``pmul4398``)."""
    return raw.strip().lower().removesuffix(".json")


_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*\[')


def _key_lines(text: str, keys: list[str]) -> dict[str, int]:
    """1-based line of each dialogue id's first ``"id": [`` (one pass over the text)."""
    wanted, lines = set(keys), {}
    line, pos = 1, 0
    for m in _KEY.finditer(text):
        key = m.group(1)
        if key in wanted and key not in lines:
            line += text.count("\n", pos, m.start())
            pos = m.start()
            lines[key] = line
    return {k: lines.get(k, 1) for k in keys}


def read_predictions(path: str | Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The raw prediction mapping and the 1-based line of each dialogue id."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    blob = p.read_bytes()
    try:
        data = orjson.loads(blob)
    except orjson.JSONDecodeError as e:
        text = blob.decode("utf-8", "replace")
        pos = getattr(e, "pos", 0) or 0
        line = text.count("\n", 0, pos) + 1
        raise InputError(Issue("JSON_INVALID", f"not valid JSON: {e.msg}", str(path), line).format()) from None
    if not isinstance(data, dict):
        issue = Issue("PRED_NOT_OBJECT", "expected a JSON object {dialog_id: [system turns]} (mwzeval input format)",
                      str(path), 1)
        raise InputError(issue.format())
    return data, _key_lines(blob.decode("utf-8", "replace"), list(data))


def _turn_issues(turn: Any, i: int) -> list[tuple[str, str, str]]:
    where = f"[{i}]"
    if not isinstance(turn, dict):
        return [("TURN_NOT_OBJECT", where, "a turn must be an object with a 'response'")]
    found = []
    if "response" not in turn:
        found.append(("RESPONSE_MISSING", f"{where}.response", "missing"))
    elif not isinstance(turn["response"], str):
        found.append(("RESPONSE_NOT_STRING", f"{where}.response", "must be a string"))
    state = turn.get("state")
    if "state" in turn and not (
        isinstance(state, dict)
        and all(isinstance(s, dict) and all(isinstance(v, _SCALARS) for v in s.values()) for s in state.values())
    ):
        found.append(("STATE_INVALID", f"{where}.state", "must be {domain: {slot: value}} with scalar values"))
    domains = turn.get("active_domains")
    if "active_domains" in turn and not (isinstance(domains, list) and all(isinstance(d, str) for d in domains)):
        found.append(("ACTIVE_DOMAINS_INVALID", f"{where}.active_domains", "must be a list of domain names"))
    return found


def check_predictions(raw: dict[str, Any], lines: dict[str, int], path: str,
                      turn_counts: dict[str, Any]) -> Predictions:
    """Keep the dialogues mwzeval could score; every other one becomes located issues.

    ``turn_counts`` maps a dialogue id to its reference list (one entry per system turn); ids
    unknown to the data folder are rejected by the caller, which knows which files are in use.
    """
    out = Predictions()
    for raw_id, turns in raw.items():
        did = canonical_id(raw_id)
        where = {"file": path, "line": lines.get(raw_id), "record_id": raw_id}
        found: list[tuple[str, str | None, str]] = []
        if did != raw_id:
            out.issues.append(Issue("DIALOG_ID_NORMALIZED", f"read as '{did}' (mwzeval ids are lowercase, "
                                    "without .json)", severity="warning", **where))
        if did in out.dialogs:
            found.append(("DIALOG_DUPLICATE", None, f"'{did}' appears twice"))
        if not isinstance(turns, list):
            found.append(("DIALOG_NOT_LIST", None, "expected a list of system turns"))
        else:
            for i, turn in enumerate(turns):
                found.extend(_turn_issues(turn, i))
            n_ref = len(turn_counts.get(did, ())) if did in turn_counts else None
            if n_ref is not None and len(turns) > n_ref:
                found.append(("TURN_COUNT_MISMATCH", None,
                              f"{len(turns)} system turns but the reference has {n_ref}"))
            elif n_ref is not None and len(turns) < n_ref:
                out.issues.append(Issue("TURN_COUNT_SHORT", f"{len(turns)} system turns but the reference has "
                                        f"{n_ref}; only the first {len(turns)} are scored (as mwzeval does)",
                                        severity="warning", **where))
        if found:
            out.issues.extend(Issue(code, msg, path=p, **where) for code, p, msg in found)
            out.rejected.append(raw_id)
            continue
        out.dialogs[did] = turns
        out.lines[did] = lines.get(raw_id, 1)
    return out
