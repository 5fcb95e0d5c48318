"""Inform and Success exactly as mwzeval computes them (``get_success`` / ``get_dialog_success``).

Per dialogue and goal domain: only turns whose active domains include the domain count; a
response with ``NAME`` (restaurant/hotel/attraction) or ``TRAINID`` (train) offers the venues the
*current* state finds in the database, replacing the previous offer only if some previously
offered venue is not among them (the last incompatible mention wins); ``PHONE``, ``ADDRESS``,
``POST``, ``TRAINID`` are provided when they appear in the response, ``REFERENCE`` only in turns
where the ground truth booked the domain. A domain is informed when the goal names the venue,
for taxi/police/hospital, for a train when nothing was offered and no train id is requested, or
when the offered venues are a non-empty subset of the goal's venues. Success needs inform on every
domain and every requested slot provided. Rates are percentages rounded to one decimal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialogkit.score.multiwoz.database import VenueDatabase

REQUESTABLES = ("PHONE", "ADDRESS", "POST", "REFERENCE", "TRAINID")
VENUE_DOMAINS = ("restaurant", "hotel", "attraction")
AUTO_MATCHED = ("taxi", "police", "hospital")


@dataclass
class DialogResult:
    """One dialogue's verdicts: ``inform``/``success`` map domain (and ``total``) to a bool."""

    inform: dict[str, bool]
    success: dict[str, bool] = field(default_factory=dict)
    offered: dict[str, Any] = field(default_factory=dict)
    provided: dict[str, list[str]] = field(default_factory=dict)


def _offer(offered: list[str], found: list[str]) -> list[str]:
    if not offered or any(venue not in found for venue in offered):
        return found
    return offered


def dialog_success(
    goal: Mapping[str, Any],
    booked: Sequence[Sequence[str]],
    responses: Sequence[str],
    states: Sequence[Mapping[str, Mapping[str, Any]]],
    active: Sequence[Sequence[str]],
    db: VenueDatabase,
) -> DialogResult:
    """Inform and Success of one dialogue (all inputs already normalised)."""
    wanted = {d: set(goal[d]["requestable"]) for d in goal}
    offered: dict[str, Any] = {d: [] for d in goal}
    provided: dict[str, set[str]] = {d: set() for d in goal}
    for response, state, booked_now, domains in zip(responses, states, booked, active):
        for d in goal:
            if d not in domains:
                continue
            if ("NAME" in response and d in VENUE_DOMAINS) or ("TRAINID" in response and d == "train"):
                found = db.query(d, state[d]) if d in state else []
                offered[d] = _offer(offered[d], found)
            for slot in REQUESTABLES:
                if slot in response and (slot != "REFERENCE" or d in booked_now):
                    provided[d].add(slot)
    for d in goal:
        if "name" in goal[d]["informable"] or d in AUTO_MATCHED:
            offered[d] = "MATCHED"
        if d == "train" and not offered["train"] and "TRAINID" not in goal["train"]["requestable"]:
            offered[d] = "MATCHED"
    inform: dict[str, bool] = {}
    for d in goal:
        ok = offered[d] == "MATCHED"
        if not ok and d in (*VENUE_DOMAINS, "train") and len(offered[d]) > 0:
            ok = set(offered[d]).issubset(db.query(d, goal[d]["informable"]))
        inform[d] = ok
    inform["total"] = sum(inform.values()) == len(inform)
    success: dict[str, bool] = {}
    if inform["total"]:
        for d in goal:
            success[d] = len(provided[d] & wanted[d]) == len(wanted[d])
        success["total"] = sum(success.values()) >= len(success)
    return DialogResult(inform, success, offered, {d: sorted(v) for d, v in provided.items()})


def aggregate(results: Mapping[str, DialogResult]) -> tuple[dict[str, float], dict[str, float]]:
    """mwzeval's rates: per domain over dialogues whose goal has it, plus ``total``; 1 decimal."""
    total: Counter[str] = Counter()
    inform: Counter[str] = Counter()
    success: Counter[str] = Counter()
    for r in results.values():
        for d in set(r.inform) | set(r.success):
            total[d] += 1
            inform[d] += r.inform.get(d, 0)
            success[d] += r.success.get(d, 0)
    order = sorted(total, key=lambda d: (d != "total", d))
    return (
        {d: round(100 * inform[d] / total[d], 1) for d in order},
        {d: round(100 * success[d] / total[d], 1) for d in order},
    )


def estimate_active_domains(states: Sequence[Mapping[str, Mapping[str, Any]]]) -> list[list[str]]:
    """mwzeval's ``get_domain_estimates_from_state`` for one dialogue: the domain whose state changed.

    Several changed domains: keep the current one if it changed, else take the changed domain with
    the most slots; no change after a multi-domain turn: switch to the other domain of that turn.
    """
    current: str | None = None
    old_state: Mapping[str, Mapping[str, Any]] = {}
    old_changed: list[str] = []
    out: list[list[str]] = []
    for state in states:
        changed = [d for d in state if set(state.get(d, {}).items()) - set(old_state.get(d, {}).items())]
        if not changed:
            if current is None:
                out.append([])
                continue
            if len(old_changed) > 1:
                old_changed = [d for d in old_changed if d in state and d != current]
                if old_changed:
                    current = old_changed[0]
        elif current not in changed:
            current = max(changed, key=lambda d: len(state[d]))
        old_state = state
        old_changed = changed
        out.append([current])  # type: ignore[list-item]
    return out
