"""``score_multiwoz``: BLEU, Inform, Success, Combined and DST exactly as mwzeval reports them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError, Issue, UsageError
from dialogkit.score.multiwoz.bleu import corpus_bleu
from dialogkit.score.multiwoz.data import MultiwozData, Predictions, check_predictions, read_predictions
from dialogkit.score.multiwoz.dst import dst_scores
from dialogkit.score.multiwoz.normalize import normalize_response, normalize_state
from dialogkit.score.multiwoz.success import aggregate, dialog_success, estimate_active_domains

COMPAT = "mwzeval@7f19ee01"


@dataclass
class _Prepared:
    responses: dict[str, list[str]] = field(default_factory=dict)
    states: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # only when every turn has one
    domains: dict[str, list[list[str]]] = field(default_factory=dict)  # only when every turn has them


def _normalise(preds: Predictions, path: str, unknown: set[str]) -> _Prepared:
    """mwzeval's ``normalize_data``; a state value it would crash on rejects that dialogue."""
    out = _Prepared()
    for did in list(preds.dialogs):
        turns = preds.dialogs[did]
        try:
            states = [normalize_state(t["state"]) if "state" in t else None for t in turns]
        except (TypeError, ValueError) as e:
            preds.issues.append(Issue("STATE_VALUE_INVALID", f"mwzeval cannot normalise this state: {e}",
                                      path, preds.lines[did], did, "state"))
            preds.rejected.append(did)
            del preds.dialogs[did]
            continue
        out.responses[did] = [normalize_response(t["response"], unknown) for t in turns]
        out.states[did] = states  # type: ignore[assignment]
        out.domains[did] = [t.get("active_domains") for t in turns]  # type: ignore[misc]
    return out


def _bleu(prep: _Prepared, refs: dict[str, list[str]]) -> float:
    hyps, gold = [], []
    for did, responses in prep.responses.items():
        hyps.extend(responses)
        gold.extend(refs[did][: len(responses)])
    if not hyps:
        return 0.0
    return corpus_bleu(hyps, gold)


def _success(prep: _Prepared, data: MultiwozData, use_gold: bool, notes: list[str]) -> tuple[Any, Any, dict]:
    states = prep.states
    if use_gold:
        gold = data.gold_states
        states = {did: list(gold[did][: len(r)]) for did, r in prep.responses.items()}
    domains = prep.domains
    if any(d is None for turns in domains.values() for d in turns):
        domains = {did: estimate_active_domains(s) for did, s in states.items()}
        notes.append("active_domains missing in some turn: estimated from state changes for all turns (as mwzeval)")
    per_dialog = {
        did: dialog_success(data.goals[did], data.booked[did], prep.responses[did], states[did], domains[did],
                            data.database)
        for did in prep.responses
    }
    inform, success = aggregate(per_dialog)
    return inform, success, per_dialog


def score_multiwoz(
    pred: str | Path,
    data_dir: str | Path,
    *,
    bleu: bool = True,
    success: bool = True,
    dst: bool | None = None,
) -> dict[str, Any]:
    """Score an mwzeval-format prediction file against an mwzeval data folder.

    Args:
        pred: ``{dialog_id: [{"response", "state"?, "active_domains"?}]}`` JSON file.
        data_dir: mwzeval's data layout (see :mod:`dialogkit.score.multiwoz.data`).
        bleu: compute BLEU against ``references/mwz22.json``.
        success: compute Inform/Success (goals, booked domains, venue database).
        dst: compute mwzeval's DST numbers; ``None`` = when every turn has a state and
            ``gold_states.json`` exists; ``True`` = required.

    Returns:
        The report: ``bleu``, ``inform``/``success`` (``total`` and per domain, percent, one
        decimal), ``combined``, ``dst`` (or ``None``), ``per_dialog``, ``issues``, ``notes``.

    Raises:
        InputError: a needed data file is missing or unreadable, or ``pred`` is not a JSON object.
        UsageError: nothing to compute.
    """
    if not (bleu or success or dst):
        raise UsageError("nothing to score: all of BLEU, Inform/Success and DST are switched off")
    data = MultiwozData(data_dir)
    raw, lines = read_predictions(pred)
    # Fail fast on every file this run needs, before any work.
    tables: list[tuple[dict[str, Any], str]] = []
    if success:
        tables += [(data.goals, "goals.json"), (data.booked, "booked_domains.json")]
        data.database  # noqa: B018 - load (and check) now
    if bleu:
        tables.append((data.references, "references/mwz22.json"))
    if dst:
        data.gold_states  # noqa: B018
    if not tables:
        tables.append((data.gold_states, "gold_states.json"))
    preds = check_predictions(raw, lines, str(pred), tables[-1][0])
    for table, name in tables:
        _reject_missing(preds, str(pred), table, name)
    unknown: set[str] = set()
    notes: list[str] = []
    prep = _normalise(preds, str(pred), unknown)
    has_states = all(s is not None for turns in prep.states.values() for s in turns)
    if unknown:
        notes.append("unknown placeholders became empty strings (as mwzeval): " + ", ".join(sorted(unknown)))
    report: dict[str, Any] = {"compat": COMPAT, "pred": str(pred), "data": str(data_dir)}
    if success and not has_states:
        _reject_missing(preds, str(pred), data.gold_states, "gold_states.json", prep)
        notes.append("state missing in some turn: gold MultiWOZ 2.2 states used for every turn (as mwzeval)")
    report["bleu"] = _bleu(prep, data.references) if bleu else None
    inform = succ = per_dialog = None
    if success:
        inform, succ, per_dialog = _success(prep, data, not has_states, notes)
    report["inform"], report["success"] = inform, succ
    report["combined"] = (
        (inform["total"] + succ["total"]) / 2 + report["bleu"]
        if inform and succ and "total" in inform and report["bleu"] is not None else None
    )
    report["dst"] = _dst(prep, data, has_states, dst, notes)
    report["counts"] = {"dialogs": len(prep.responses), "turns": sum(len(r) for r in prep.responses.values()),
                        "rejected": len(preds.rejected)}
    report["per_dialog"] = {
        did: {"inform": r.inform, "success": r.success or None} for did, r in (per_dialog or {}).items()
    }
    report["notes"] = notes
    report["issues"] = [i.to_dict() for i in preds.issues]
    report["rejected"] = preds.rejected
    return report


def _reject_missing(preds: Predictions, path: str, table: dict[str, Any], name: str,
                    prep: _Prepared | None = None) -> None:
    for did in [d for d in preds.dialogs if d not in table]:
        preds.issues.append(Issue("DIALOG_UNKNOWN", f"not in {name}", path, preds.lines[did], did))
        preds.rejected.append(did)
        del preds.dialogs[did]
        if prep is not None:
            for part in (prep.responses, prep.states, prep.domains):
                part.pop(did, None)


def _dst(prep: _Prepared, data: MultiwozData, has_states: bool, wanted: bool | None, notes: list[str]) -> Any:
    if wanted is False:
        return None
    if not has_states:
        if wanted:
            raise InputError("DST needs a predicted 'state' in every turn of the input")
        return None
    if not data.has("gold_states"):
        notes.append("gold_states.json not in the data folder: DST not computed")
        return None
    gold = data.gold_states
    missing = [did for did in prep.states if did not in gold]
    if missing:
        notes.append(f"DST not computed: {len(missing)} dialogue(s) not in gold_states.json, e.g. {missing[0]}")
        return None
    return dst_scores(
        (hyp, ref) for did, states in prep.states.items() for hyp, ref in zip(states, gold[did])
    )
