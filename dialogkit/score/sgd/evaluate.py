"""The official SGD DST evaluation (google-research ``schema_guided_dst/evaluate.py``), offline.

Reference folder: ``schema.json`` + ``dialogues_*.json``; prediction folder: SGD dialogues with
predicted user-frame states. Metrics are computed on user turns per service frame and
macro-averaged (numpy mean) over frames into collections: ``#ALL_SERVICES``, ``#SEEN_SERVICES`` /
``#UNSEEN_SERVICES`` (seen = also in the train schema), each service and each domain (service
name before ``_``). With ``joint_across_turn`` the joint metrics of a turn's frames are
multiplied first (MultiWOZ style). Where the official script raises (a predicted dialogue unknown
to the reference, different services, speakers or utterances, a missing frame), that dialogue is
reported as an issue and left out, and the others are scored.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from dialogkit.errors import InputError, Issue
from dialogkit.score.sgd.metrics import JOINT_METRICS, NAN_VAL, frame_metrics

ALL, SEEN, UNSEEN = "#ALL_SERVICES", "#SEEN_SERVICES", "#UNSEEN_SERVICES"
PER_FRAME_FILE = "dialogues_and_metrics.json"


@dataclass
class Dataset:
    dialogs: dict[str, dict[str, Any]] = field(default_factory=dict)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (file, 1-based index)


def _load(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON: {e}") from None


def load_schema(path: Path) -> dict[str, dict[str, Any]]:
    """``service_name -> service`` of an SGD ``schema.json``."""
    if not path.is_file():
        raise InputError(f"{path}: no such file (the SGD schema)")
    data = _load(path)
    if not isinstance(data, list) or not all(isinstance(s, dict) and "service_name" in s for s in data):
        raise InputError(f"{path}: expected a list of services with 'service_name'")
    return {s["service_name"]: s for s in data}


def load_dialogs(folder: Path, what: str) -> Dataset:
    """Every ``dialogues_*.json`` of ``folder`` (any ``*.json`` but the schema when there is none)."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder ({what})")
    files = sorted(folder.glob("dialogues_*.json"))
    if not files:
        files = sorted(p for p in folder.glob("*.json") if p.name != "schema.json")
    files = [p for p in files if p.name != PER_FRAME_FILE]
    if not files:
        raise InputError(f"{folder}: no dialogues_*.json files ({what})")
    out = Dataset()
    for path in files:
        data = _load(path)
        items = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else None
        if items is None:
            raise InputError(f"{path}: expected a list of dialogues")
        for i, dialog in enumerate(items, 1):
            if isinstance(dialog, dict) and isinstance(dialog.get("dialogue_id"), str):
                out.dialogs[dialog["dialogue_id"]] = dialog
                out.where[dialog["dialogue_id"]] = (str(path), i)
    return out


def _check(ref: Mapping[str, Any], hyp: Mapping[str, Any], schemas: Mapping[str, Any]) -> tuple[str, str] | None:
    """(code, message) for the first thing the official script would raise on, else None."""
    if set(ref["services"]) != set(hyp.get("services", ())):
        return "SERVICES_MISMATCH", "services differ from the reference dialogue"
    turns = hyp.get("turns")
    if not isinstance(turns, list):
        return "TURNS_MISSING", "no 'turns' list"
    for t, (tr, th) in enumerate(zip(ref["turns"], turns)):
        if not isinstance(th, dict) or tr["speaker"] != th.get("speaker"):
            return "SPEAKER_MISMATCH", f"turns[{t}]: speaker differs from the reference"
        if tr["speaker"] != "USER":
            continue
        if tr["utterance"] != th.get("utterance"):
            return "UTTERANCE_MISMATCH", f"turns[{t}]: utterance differs from the reference"
        frames = {f.get("service"): f for f in th.get("frames", []) if isinstance(f, dict)}
        for fr in tr["frames"]:
            if fr["service"] not in schemas:
                return "SERVICE_UNKNOWN", f"turns[{t}]: service {fr['service']} not in the reference schema"
            fh = frames.get(fr["service"])
            if fh is None:
                return "FRAME_MISSING", f"turns[{t}]: no frame for service {fr['service']}"
            problem = _state_problem(fh.get("state"))
            if problem:
                return "STATE_INVALID", f"turns[{t}].frames[{fr['service']}].state: {problem}"
    return None


def _state_problem(state: Any) -> str | None:
    if not isinstance(state, dict):
        return "missing"
    for key in ("active_intent", "requested_slots", "slot_values"):
        if key not in state:
            return f"'{key}' missing"
    if not isinstance(state["requested_slots"], list):
        return "'requested_slots' must be a list"
    values = state["slot_values"]
    if not isinstance(values, dict) or not all(isinstance(v, list) and v for v in values.values()):
        return "'slot_values' must map each slot to a non-empty list of values"
    return None


def score_sgd(ref_dir: str | Path, pred_dir: str | Path, *, train_schema: str | Path | None = None,
              fuzzy: bool = True, joint_across_turn: bool = False) -> dict[str, Any]:
    """Score predicted SGD dialogues against the reference folder with the official metrics.

    Args:
        ref_dir: folder with ``schema.json`` and the gold ``dialogues_*.json``.
        pred_dir: folder with predicted ``dialogues_*.json`` (same dialogues, predicted states).
        train_schema: the train split's ``schema.json`` (decides seen vs unseen services);
            default ``<ref_dir>/../train/schema.json``; absent = every service unseen (noted).
        fuzzy: fuzzy credit for non-categorical values (official default ``--use_fuzzy_match``).
        joint_across_turn: multiply the joint metrics of a turn's frames (MultiWOZ style).

    Returns:
        ``metrics`` (collection -> metric -> value, as the official output file), ``headline``,
        ``counts``, ``notes``, ``issues`` and ``rejected`` dialogue ids.
    """
    ref_dir, pred_dir = Path(ref_dir), Path(pred_dir)
    schemas = load_schema(ref_dir / "schema.json")
    notes: list[str] = []
    seen = _seen_services(ref_dir, train_schema, schemas, notes)
    ref = load_dialogs(ref_dir, "reference dialogues")
    hyp = load_dialogs(pred_dir, "predicted dialogues")
    collections_, issues, rejected, frames = _collect(ref, hyp, schemas, seen, fuzzy, joint_across_turn)
    metrics = {key: {m: float(_mean(v)) if v else NAN_VAL for m, v in sorted(vals.items())}
               for key, vals in sorted(collections_.items())}
    headline = {key: {m: metrics[key].get(m) for m in HEADLINE} for key in (ALL, SEEN, UNSEEN) if key in metrics}
    return {
        "compat": "google-research schema_guided_dst evaluate.py",
        "ref": str(ref_dir), "pred": str(pred_dir), "use_fuzzy_match": fuzzy, "joint_acc_across_turn": joint_across_turn,
        "headline": headline, "metrics": metrics,
        "counts": {"dialogs": len(hyp.dialogs) - len(rejected), "frames": frames, "rejected": len(rejected)},
        "seen_services": sorted(seen), "notes": notes, "issues": [i.to_dict() for i in issues], "rejected": rejected,
    }


HEADLINE = ("active_intent_accuracy", "requested_slots_f1", "average_goal_accuracy", "joint_goal_accuracy")


def _mean(values: list[float]) -> Any:
    import numpy as np

    return np.mean(values)


def _seen_services(ref_dir: Path, train_schema: str | Path | None, schemas: Mapping[str, Any],
                   notes: list[str]) -> set[str]:
    path = Path(train_schema) if train_schema else ref_dir.resolve().parent / "train" / "schema.json"
    if train_schema is None and not path.is_file():
        notes.append(f"no train schema at {path}: every service counted as unseen (give --train-schema)")
        return set()
    return set(schemas) & set(load_schema(path))


def _collect(ref: Dataset, hyp: Dataset, schemas: Mapping[str, Any], seen: set[str], fuzzy: bool,
             across_turn: bool) -> tuple[dict, list[Issue], list[str], int]:
    coll: dict[str, dict[str, list[float]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    issues: list[Issue] = []
    rejected: list[str] = []
    frames = 0
    for did, dial in hyp.dialogs.items():
        file, index = hyp.where[did]
        where = {"file": file, "line": None, "record_id": did}
        if did not in ref.dialogs:
            issues.append(Issue("DIALOG_UNKNOWN", "not in the reference dialogues", path=f"[{index}]", **where))
            rejected.append(did)
            continue
        problem = _check(ref.dialogs[did], dial, schemas)
        if problem:
            issues.append(Issue(problem[0], problem[1], path=f"[{index}]", **where))
            rejected.append(did)
            continue
        if len(dial["turns"]) < len(ref.dialogs[did]["turns"]):
            issues.append(Issue("TURNS_SHORT", "fewer turns than the reference; the rest are not scored (as the "
                                "official script)", path=f"[{index}]", severity="warning", **where))
        frames += _score_dialog(ref.dialogs[did], dial, schemas, seen, fuzzy, across_turn, coll)
    return coll, issues, rejected, frames


def _score_dialog(ref: Mapping[str, Any], hyp: Mapping[str, Any], schemas: Mapping[str, Any], seen: set[str],
                  fuzzy: bool, across_turn: bool, coll: dict[str, dict[str, list[float]]]) -> int:
    frames = 0
    for turn_ref, turn_hyp in zip(ref["turns"], hyp["turns"]):
        if turn_ref["speaker"] != "USER":
            continue
        per_turn: dict[str, dict[str, float]] = collections.defaultdict(lambda: collections.defaultdict(lambda: 1.0))
        by_service = {f["service"]: f for f in turn_hyp["frames"]}
        for frame_ref in turn_ref["frames"]:
            service = frame_ref["service"]
            values = frame_metrics(frame_ref, by_service[service], turn_ref["utterance"], schemas[service], fuzzy)
            frames += 1
            keys = (ALL, service, service.split("_")[0], SEEN if service in seen else UNSEEN)
            for key in keys:
                for metric, value in values.items():
                    if isinstance(value, str) and value == NAN_VAL:
                        continue
                    if across_turn and metric in JOINT_METRICS:
                        per_turn[key][metric] *= value
                    else:
                        coll[key][metric].append(value)
        for key, vals in per_turn.items():
            for metric, value in vals.items():
                coll[key][metric].append(value)
    return frames
