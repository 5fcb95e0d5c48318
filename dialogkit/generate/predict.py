"""Turn-level predictions: every assistant turn of a reference generated from its gold history.

For reference message ``i`` (an assistant message) the model gets ``ref.messages[:i]`` and
``ref.tools`` and writes one assistant message. The prediction dialog is the gold history with
each assistant message replaced by the generated one, so the k-th assistant message of the
prediction answers the same context as the k-th of the reference - the alignment
``dialogkit.score`` expects.

Two things make the predictions honest inputs for the scorers:

* a ``<tool_call>`` block whose JSON does not parse is turned back into a tool call whose
  ``arguments`` is the raw text, so the scorer's lenient reader counts it as a JSON parse
  failure (and still scores the name) instead of the call silently becoming text;
* when the reference was made by ``dialogkit synth`` (``metadata.final_db`` and
  ``metadata.provenance.scenario``), the predicted tool calls are replayed in order on a fresh
  session of the scenario's database and the result is the prediction's ``final_db`` - the
  tau-bench check of what the model's actions would have changed, never a copy of the
  reference's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dialogkit.errors import DialogkitError, Issue
from dialogkit.generate.base import Backend, ChatRequest, GenerationConfig
from dialogkit.generate.state_text import parse_state
from dialogkit.schema import AssistantMessage, Dialog, dump

_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_NAME = re.compile(r'"name"\s*:\s*"([^"\\]{1,200})"')


@dataclass
class PredictReport:
    """What happened while predicting: counts and located issues (warnings)."""

    dialogs: int = 0
    turns: int = 0
    unparsed_calls: int = 0
    replayed: int = 0
    issues: list[Issue] = field(default_factory=list)


def turn_requests(ref: Dialog) -> list[tuple[int, ChatRequest]]:
    """``(message index, request)`` for every assistant message of ``ref``."""
    return [
        (i, ChatRequest(messages=list(ref.messages[:i]), tools=list(ref.tools)))
        for i, m in enumerate(ref.messages)
        if m.role == "assistant"
    ]


def assistant_record(msg: AssistantMessage, call_prefix: str) -> tuple[dict[str, Any], int]:
    """A generated message as a JSON record, broken ``<tool_call>`` blocks kept as calls.

    Returns the record and the number of calls whose arguments did not parse.
    """
    calls = [
        {"id": f"{call_prefix}_{k}", "name": c.name, "arguments": c.arguments}
        for k, c in enumerate(msg.tool_calls)
    ]
    kept: list[str] = []
    pos = 0
    broken = 0
    for block in _BLOCK.finditer(msg.content):
        body = block.group(1)
        name = _NAME.search(body)
        if name is None or _is_json(body):
            continue  # not a call attempt we can attribute, or a shape error: stays text
        kept.append(msg.content[pos:block.start()])
        pos = block.end()
        # A string that is not JSON: the score runner counts it as an unparsed argument list.
        calls.append({"id": f"{call_prefix}_{len(calls)}", "name": name.group(1), "arguments": body})
        broken += 1
    kept.append(msg.content[pos:])
    rec: dict[str, Any] = {"role": "assistant", "content": "".join(kept).strip()}
    if calls:
        rec["tool_calls"] = calls
    if msg.reasoning:
        rec["reasoning"] = msg.reasoning
    if msg.state is not None:
        rec["state"] = dump(msg.state)
    return rec, broken


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def prediction_record(ref: Dialog, generated: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The gold history with each assistant message replaced by its generated record."""
    messages = [generated[i] if i in generated else dump(m) for i, m in enumerate(ref.messages)]
    meta: dict[str, Any] = {"source": "dialogkit.generate.predict", "reference": ref.id}
    for key in ("domain", "language"):
        value = getattr(ref.metadata, key)
        if value is not None:
            meta[key] = value
    if ref.metadata.variant_of is not None:
        meta["variant_of"] = ref.metadata.variant_of
    return {"id": ref.id, "messages": messages, "tools": [dump(t) for t in ref.tools], "metadata": meta}


def predict_dialogs(
    refs: list[Dialog],
    backend: Backend,
    config: GenerationConfig,
    *,
    progress: Callable[[int], None] | None = None,
    report: PredictReport | None = None,
    replay: bool = True,
    state_from_reasoning: bool = False,
    scenario: str | None = None,
) -> list[dict[str, Any]]:
    """Generate every assistant turn of ``refs`` and return one prediction record per reference.

    Requests are sorted by history length so batches pad little, and sent ``config.batch_size``
    at a time; ``progress(n)`` is called with the number of turns each batch finished. With
    ``state_from_reasoning`` a reasoning block in the :mod:`~dialogkit.generate.state_text`
    format becomes the turn's ``state``. ``replay`` adds ``final_db`` (see the module doc).
    """
    report = report if report is not None else PredictReport()
    jobs = [(d, i, req) for d, ref in enumerate(refs) for i, req in turn_requests(ref)]
    jobs.sort(key=lambda j: (len(j[2].messages), sum(len(_text(m)) for m in j[2].messages)))
    outputs: dict[tuple[int, int], dict[str, Any]] = {}
    one = config.model_copy(update={"n": 1})
    for start in range(0, len(jobs), config.batch_size):
        batch = jobs[start:start + config.batch_size]
        try:
            answers = backend.generate([req for _, _, req in batch], one)
        except DialogkitError:
            raise
        except Exception as e:  # an endpoint down or a model that cannot run: say so
            raise DialogkitError(f"generation with {getattr(backend, 'name', 'the model')} failed: "
                                 f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
        for (d, i, _), samples in zip(batch, answers):
            msg = samples[0]
            if state_from_reasoning and msg.state is None and (state := parse_state(msg.reasoning)):
                msg = msg.model_copy(update={"state": state})
            rec, broken = assistant_record(msg, f"pred_{i}")
            report.unparsed_calls += broken
            outputs[(d, i)] = rec
        report.turns += len(batch)
        if progress is not None:
            progress(len(batch))
    preds = []
    for d, ref in enumerate(refs):
        rec = prediction_record(ref, {i: r for (dd, i), r in outputs.items() if dd == d})
        if replay:
            final = replay_final_db(ref, rec, report.issues, scenario)
            if final is not None:
                rec["metadata"]["final_db"] = final
                report.replayed += 1
        preds.append(rec)
    report.dialogs += len(refs)
    return preds


def _text(msg: Any) -> str:
    content = getattr(msg, "content", "")
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


_DATABASES: dict[str, Any] = {}


def replay_final_db(ref: Dialog, pred: dict[str, Any], issues: list[Issue],
                    scenario: str | None = None) -> dict[str, Any] | None:
    """Run the predicted calls on the reference's synth scenario; ``None`` when not applicable.

    ``scenario`` (a name or YAML path) overrides the one named in the reference's provenance.
    """
    extra = ref.metadata.model_extra or {}
    prov = ref.metadata.provenance or {}
    scenario = scenario or prov.get("scenario")
    if "final_db" not in extra or not scenario:
        return None
    db = _database(str(scenario), prov.get("scenario_hash"), ref.id, issues)
    if db is None:
        return None
    session = db.session()
    for msg in pred["messages"]:
        if msg.get("role") != "assistant":
            continue
        for call in msg.get("tool_calls") or []:
            if isinstance(call.get("arguments"), dict):
                session.execute(call["name"], call["arguments"])
    return session.final_state()


def _database(name: str, digest: Any, ref_id: str, issues: list[Issue]) -> Any:
    if name in _DATABASES:
        return _DATABASES[name]
    # Lazy: synth is a sibling stage and imports generate itself (self-play).
    from dialogkit.synth.db import Database
    from dialogkit.synth.scenario import load_scenario

    try:
        loaded = load_scenario(name)
        db = Database(loaded)
    except DialogkitError as e:
        issues.append(Issue("DB_REPLAY_UNAVAILABLE", f"scenario {name!r}: {e}; predictions get no final_db",
                            record_id=ref_id, severity="warning"))
        db = None
    else:
        if digest and loaded.hash != digest:
            issues.append(Issue("SCENARIO_CHANGED", f"scenario {name!r} changed since the references were "
                                "made (hash differs); final_db replays on the current one",
                                record_id=ref_id, severity="warning"))
    _DATABASES[name] = db
    return db


def write_predictions(path: Any, preds: Iterable[dict[str, Any]]) -> int:
    """Write prediction records atomically (JSONL)."""
    from dialogkit.io import write_jsonl

    return write_jsonl(path, preds)


def predict_file(
    model: str,
    ref_path: str | Any,
    pred_path: str | Any,
    config: GenerationConfig,
    *,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    limit: int | None = None,
    state_from_reasoning: bool = False,
    replay: bool = True,
    scenario: str | None = None,
    progress_factory: Callable[[int], Any] | None = None,
    backend: Backend | None = None,
) -> PredictReport:
    """Read references, generate every assistant turn with ``model``, write ``pred_path``.

    Bad reference records become issues in the report (the scorer reports them again when it
    reads the references). ``progress_factory(total_turns)`` returns a context manager whose
    value is called with the number of turns done per batch.
    """
    from contextlib import nullcontext

    from dialogkit.generate.base import load_backend
    from dialogkit.io import ensure_not_input
    from dialogkit.score.runner import read_dialogs

    ensure_not_input(pred_path, [ref_path])
    report = PredictReport()
    refs, seen = [], set()
    for _, dialog in read_dialogs(ref_path, report.issues):
        if dialog.id not in seen:  # the scorer keeps the first of duplicate ids too
            seen.add(dialog.id)
            refs.append(dialog)
    if limit is not None:
        refs = refs[:limit]
    backend = backend or load_backend(model, base_url=base_url, api_key_env=api_key_env)
    total = sum(len(turn_requests(r)) for r in refs)
    bar = progress_factory(total) if progress_factory is not None else nullcontext(None)
    with bar as progress:
        preds = predict_dialogs(refs, backend, config, progress=progress, report=report,
                                replay=replay, state_from_reasoning=state_from_reasoning, scenario=scenario)
    write_predictions(pred_path, preds)
    return report
