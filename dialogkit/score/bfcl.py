"""``score bfcl``: BFCL's AST accuracy of predicted function calls.

Inputs are BFCL's own files (questions ``BFCL_v4_<category>.json`` and
``possible_answer/BFCL_v4_<category>.json``, JSON Lines) and a prediction file with one
``{"id", "tool_calls": [{"name", "arguments"}]}`` per line (``arguments`` an object or a JSON
string; the OpenAI ``{"function": {...}}`` wrapping is accepted too). A prediction that cannot
be decoded gets BFCL's ``ast_decoder:*`` error types; a question without a prediction counts as
wrong (``missing_prediction``). Python categories (simple_python, multiple, parallel,
parallel_multiple, live_* AST categories) and (live_)irrelevance / live_relevance are scored;
Java, JavaScript and multi-turn categories need BFCL's executors and are refused.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue, UsageError
from dialogkit.io import Raw, iter_records
from dialogkit.score import ast_check
from dialogkit.score.base import Item, MetricSpec, mean_stat

ACCURACY = MetricSpec("accuracy", "ratio", True, "fraction of entries whose calls pass BFCL's AST checker")


def category_of(entry_id: str) -> str:
    """``simple_python_12`` -> ``simple_python``; ``live_simple_19-3-15`` -> ``live_simple``."""
    return entry_id.rsplit("_", 1)[0] if "_" in entry_id else entry_id


def _unsupported(category: str) -> str | None:
    if "multi_turn" in category:
        return "multi-turn categories need BFCL's stateful executors"
    if "javascript" in category or "java" in category:
        return "Java/JavaScript categories need BFCL's type converters"
    return None


@dataclass
class BfclData:
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, list[Any]] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)  # id -> decoded calls or Verdict
    issues: list[Issue] = field(default_factory=list)


def _index(path: str | Path, what: str, data: BfclData) -> dict[str, tuple[Raw, dict[str, Any]]]:
    out: dict[str, tuple[Raw, dict[str, Any]]] = {}
    for raw in iter_records(path):
        if not raw.ok:
            data.issues.append(raw.issue)  # type: ignore[arg-type]
            continue
        if not isinstance(raw.data, dict) or raw.id is None:
            data.issues.append(
                Issue("FIELD_MISSING", f"{what} entry has no 'id'", raw.file, raw.line, path="id")
            )
            continue
        if raw.id in out:
            data.issues.append(
                Issue("DUPLICATE_ID", f"duplicate {what} id; the first is kept", **raw.where())
            )
            continue
        out[raw.id] = (raw, raw.data)
    return out


def decode_calls(record: dict[str, Any]) -> list[dict[str, dict[str, Any]]] | ast_check.Verdict:
    """A prediction's calls in BFCL's decoded form ``[{name: {arg: value}}]``, or the decoder's verdict."""
    calls = record.get("tool_calls")
    if calls is None:
        calls = []  # no call at all: BFCL decodes plain text to no function call
    if not isinstance(calls, list):
        return ast_check.Verdict(
            False, "ast_decoder:decoder_wrong_output_format", ["'tool_calls' is not a list"]
        )
    decoded = []
    for i, call in enumerate(calls):
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            call = call["function"]
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            return ast_check.Verdict(
                False, "ast_decoder:decoder_wrong_output_format", [f"tool_calls[{i}] has no name"]
            )
        args = call.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as e:
                return ast_check.Verdict(
                    False, "ast_decoder:decoder_failed", [f"tool_calls[{i}].arguments: {e}"]
                )
        if not isinstance(args, dict):
            return ast_check.Verdict(
                False,
                "ast_decoder:decoder_wrong_output_format",
                [f"tool_calls[{i}].arguments is not an object"],
            )
        decoded.append({call["name"]: args})
    return decoded


def load(questions: str | Path, answers: str | Path, pred: str | Path) -> BfclData:
    """Read the three files; bad lines become issues, good ones are kept."""
    data = BfclData()
    for qid, (_, q) in _index(questions, "question", data).items():
        data.questions[qid] = q
    for aid, (raw, a) in _index(answers, "answer", data).items():
        if not isinstance(a.get("ground_truth"), list):
            data.issues.append(Issue("FIELD_MISSING", "answer has no 'ground_truth' list", **raw.where()))
            continue
        data.answers[aid] = a["ground_truth"]
    for pid, (raw, p) in _index(pred, "prediction", data).items():
        if pid not in data.questions:
            data.issues.append(
                Issue(
                    "UNKNOWN_ID",
                    "prediction id is not among the questions",
                    **raw.where(),
                    severity="warning",
                )
            )
            continue
        data.predictions[pid] = decode_calls(p)
    for qid in data.questions:
        if qid not in data.answers:
            data.issues.append(
                Issue(
                    "ANSWER_MISSING", "question has no possible answer; skipped", str(answers), record_id=qid
                )
            )
    return data


def check_entry(
    category: str, question: dict[str, Any], answer: list[Any], decoded: Any, underscore_to_dot: bool = False
) -> ast_check.Verdict:
    """One entry's verdict (decoded is the :func:`decode_calls` result, or ``None`` if missing)."""
    if decoded is None:
        return ast_check.Verdict(False, "missing_prediction", ["no prediction for this id"])
    if isinstance(decoded, ast_check.Verdict):
        if "irrelevance" in category:  # an undecodable output is not a call: correct abstention
            return ast_check.OK
        if "relevance" in category:
            return ast_check.Verdict(False, "relevance_error:decoder_failed", decoded.errors)
        return decoded
    if "irrelevance" in category:
        if decoded:
            return ast_check.Verdict(False, "irrelevance_error:decoder_success", ["a function was called"])
        return ast_check.OK
    if "relevance" in category:
        return (
            ast_check.OK
            if decoded
            else ast_check.Verdict(False, "relevance_error:decoder_failed", ["no function call"])
        )
    return ast_check.check(category, question.get("function") or [], decoded, answer, underscore_to_dot)


def score(
    data: BfclData, category: str | None = None, underscore_to_dot: bool = False
) -> tuple[list[dict], list[Item]]:
    """Verdicts (one per question with an answer) and report items."""
    verdicts, items = [], []
    for qid, question in data.questions.items():
        if qid not in data.answers:
            continue
        cat = category or category_of(qid)
        why = _unsupported(cat)
        if why:
            raise UsageError(f"category {cat!r} ({qid}) is not supported: {why}")
        v = check_entry(cat, question, data.answers[qid], data.predictions.get(qid), underscore_to_dot)
        verdicts.append(
            {
                "id": qid,
                "category": cat,
                "valid": v.valid,
                "error_type": v.error_type,
                "error": v.errors or None,
            }
        )
        items.append(
            Item(
                qid,
                None,
                {"accuracy": mean_stat(v.valid)},
                {"category": cat, **({"error_type": v.error_type} if v.error_type else {})},
            )
        )
    return verdicts, items


def summarize(verdicts: list[dict]) -> dict[str, Any]:
    """Accuracy overall and per category, and error-type counts."""
    by_cat: dict[str, Counter] = {}
    for v in verdicts:
        c = by_cat.setdefault(v["category"], Counter())
        c["total"] += 1
        c["correct"] += v["valid"]
    total = len(verdicts)
    correct = sum(v["valid"] for v in verdicts)
    return {
        "accuracy": correct / total if total else None,
        "total": total,
        "correct": correct,
        "by_category": {
            k: {"accuracy": c["correct"] / c["total"], "total": c["total"], "correct": c["correct"]}
            for k, c in sorted(by_cat.items())
        },
        "error_types": dict(Counter(v["error_type"] for v in verdicts if v["error_type"]).most_common()),
        "missing": [v["id"] for v in verdicts if v["error_type"] == "missing_prediction"],
    }
