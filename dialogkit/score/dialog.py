"""Dialog-level task success (τ-bench / MultiWOZ style), inform rate, turns to success, pass^k.

A dialog succeeds when every condition that its reference makes checkable holds:

* **inform** - the goal's constraints (``goal.constraints`` and each ``goal.domains[d]``) are
  in the model's final state (the last predicted ``state``; without predicted states, the
  arguments of the model's tool calls). Values match after lowercasing, or with a fuzzywuzzy
  ``token_sort_ratio`` >= ``fuzzy_threshold``; a list constraint accepts any of its values.
* **calls** - every reference tool call is made somewhere in the dialog with the right
  arguments (BFCL semantics, as in the ``tools`` scorer), each by a distinct predicted call.
* **requests** - each ``goal.requests`` slot whose value can be found in the reference's tool
  results (a key of that name) appears in a predicted reply (case-insensitive, commas ignored,
  as τ-bench's output check).
* **database** - when both dialogs carry ``metadata.final_db``, the two states are equal
  (canonical JSON hash, as τ-bench's data hash).

``turns_to_success`` counts the user turns up to the first assistant turn by which every
condition except the database held. Several predictions with one id are repeated trials;
``pass^k`` = mean over dialogs of C(c, k) / C(n, k) (τ-bench's estimator).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from math import comb
from typing import Any

from dialogkit.schema import Dialog, Goal, ToolCall
from dialogkit.score.base import (
    BaseScorer,
    Item,
    MetricSpec,
    ScorerOptions,
    assistant_messages,
    mean_stat,
    meta,
)
from dialogkit.score.fuzzy import token_sort_ratio
from dialogkit.score.state import frames_of
from dialogkit.score.tools import functions_of, match_calls


class TaskOptions(ScorerOptions):
    fuzzy_threshold: int = 90


def goal_constraints(goal: Goal | None) -> list[tuple[str | None, str, Any]]:
    """``(domain, slot, value)`` of every constraint of a goal."""
    if goal is None:
        return []
    out = [(None, s, v) for s, v in goal.constraints.items()]
    for dom, sub in goal.domains.items():
        out += [(dom, s, v) for s, v in sub.constraints.items()]
    return out


def goal_requests(goal: Goal | None) -> list[str]:
    if goal is None:
        return []
    return list(goal.requests) + [r for sub in goal.domains.values() for r in sub.requests]


def _norm(v: Any) -> str:
    return " ".join(str(v).lower().replace(",", "").split())


def _matches(expected: Any, got: Any, threshold: int) -> bool:
    gots = got if isinstance(got, list) else [got]
    for e in expected if isinstance(expected, list) else [expected]:
        for g in gots:
            if _norm(e) == _norm(g) or (
                isinstance(e, str) and isinstance(g, str) and token_sort_ratio(e, g) >= threshold
            ):
                return True
    return False


def _belief(by_domain: dict[str, dict[str, Any]], flat: dict[str, Any], domain: str | None, slot: str) -> Any:
    if domain and slot in (by_domain.get(domain) or {}):
        return by_domain[domain][slot]
    return flat.get(slot)


def final_beliefs(messages: list, calls: list[ToolCall]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Per-domain slots of the last state (or call arguments), and all of them flattened."""
    states = [m.state for m in messages if m.role == "assistant" and m.state is not None]
    by_domain: dict[str, dict[str, Any]] = {}
    if states:
        for dom, frame in frames_of(states[-1]).items():
            by_domain[dom] = dict(frame.slots)
    else:
        for c in calls:
            by_domain.setdefault(c.name, {}).update(c.arguments)
    flat = {k: v for slots in by_domain.values() for k, v in slots.items()}
    return by_domain, flat


def find_values(obj: Any, key: str) -> list[Any]:
    """Every value stored under ``key`` anywhere in a JSON value."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key and not isinstance(v, (dict, list)):
                out.append(v)
            out += find_values(v, key)
    elif isinstance(obj, list):
        for v in obj:
            out += find_values(v, key)
    return out


def db_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class TaskSuccessScorer(BaseScorer):
    name = "task"
    version = "1"
    higher_is_better = True
    Options = TaskOptions
    metrics = (
        MetricSpec("task_success", "ratio", True, "dialogs meeting every checkable goal condition"),
        MetricSpec("inform_rate", "ratio", True, "dialogs whose final state holds the goal's constraints"),
        MetricSpec("request_rate", "ratio", True, "requested values given to the user / checkable requests"),
        MetricSpec(
            "required_calls_rate", "ratio", True, "reference tool calls made with the right arguments"
        ),
        MetricSpec("db_match_rate", "ratio", True, "dialogs whose final database equals the reference's"),
        MetricSpec(
            "turns_to_success",
            "ratio",
            False,
            "user turns until success, mean over successful dialogs",
            "count",
        ),
    )

    def _conditions(self, ref: Dialog, messages: list) -> dict[str, Any]:
        calls = [c for m in messages if m.role == "assistant" for c in m.tool_calls]
        by_domain, flat = final_beliefs(messages, calls)
        th = self.options.fuzzy_threshold
        out: dict[str, Any] = {}
        cons = goal_constraints(ref.goal)
        if cons:
            out["inform"] = all(
                (got := _belief(by_domain, flat, d, slot)) is not None and _matches(v, got, th)
                for d, slot, v in cons
            )
        ref_calls = [c for _, m in assistant_messages(ref) for c in m.tool_calls]
        if ref_calls:
            out["calls"] = (
                match_calls(functions_of(ref), ref_calls, calls, meta(ref, "tool_answers") or {}),
                len(ref_calls),
            )
        results = [m.content for m in ref.messages if m.role == "tool"]
        replies = _norm(" ".join(m.content for m in messages if m.role == "assistant"))
        checkable = [(r, vals) for r in goal_requests(ref.goal) if (vals := find_values(results, r))]
        if checkable:
            out["requests"] = (
                sum(any(_norm(v) in replies for v in vals) for _, vals in checkable),
                len(checkable),
            )
        return out

    @staticmethod
    def _ok(cond: dict[str, Any]) -> bool:
        return cond.get("inform", True) and all(
            cond[k][0] == cond[k][1] for k in ("calls", "requests") if k in cond
        )

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        messages = pred.messages if pred is not None else [m for m in ref.messages if m.role != "assistant"]
        cond = self._conditions(ref, messages)
        ref_db, pred_db = meta(ref, "final_db"), meta(pred, "final_db")
        if ref_db is not None:
            cond["db"] = pred_db is not None and db_hash(ref_db) == db_hash(pred_db)
        if not cond:
            return []
        success = self._ok(cond) and cond.get("db", True)
        stats = {"task_success": mean_stat(success)}
        if "inform" in cond:
            stats["inform_rate"] = mean_stat(cond["inform"])
        if "requests" in cond:
            stats["request_rate"] = list(cond["requests"])
        if "calls" in cond:
            stats["required_calls_rate"] = list(cond["calls"])
        if "db" in cond:
            stats["db_match_rate"] = mean_stat(cond["db"])
        if success and pred is not None:
            stats["turns_to_success"] = mean_stat(self._turns_to_success(ref, pred))
        return [Item(ref.id, None, stats, {"success": success})]

    def _turns_to_success(self, ref: Dialog, pred: Dialog) -> int:
        for i, _ in assistant_messages(pred):
            prefix = pred.messages[: i + 1]
            if self._ok(self._conditions(ref, prefix)):
                return sum(m.role == "user" for m in prefix)
        return sum(m.role == "user" for m in pred.messages)

    def summarize(self, items: list[Item]) -> dict[str, Any]:
        trials: dict[str, list[bool]] = defaultdict(list)
        for it in items:
            if "success" in it.info:
                trials[it.dialog].append(bool(it.info["success"]))
        if not trials:
            return {}
        n_min = min(len(v) for v in trials.values())
        pass_k = {
            str(k): sum(comb(sum(v), k) / comb(len(v), k) for v in trials.values()) / len(trials)
            for k in range(1, n_min + 1)
        }
        return {
            "pass_hat_k": pass_k,
            "trials": {"tasks": len(trials), "min": n_min, "max": max(map(len, trials.values()))},
        }
