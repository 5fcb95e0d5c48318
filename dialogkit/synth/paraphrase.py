"""``synth --mode paraphrase``: an LLM rewrites template utterances so they read naturally.

Annotations stay true because the values they refer to are pinned: for each utterance the
values it contains (act values, state slots, tool arguments, tool-result fields, goal
constraints, numbers) are listed in the prompt and *checked* in the rewrite. A rewrite that
loses one is asked again (a new sample); when the budget is spent the original utterance is
kept and ``metadata.paraphrase.kept`` says why (``VALUE_LOST``, ``EMPTY``, a transport code
...). Utterances with tool calls are never rewritten. The same journal, limits and resume as
self-play apply; output is in input order.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue, RecordError, UsageError
from dialogkit.io import iter_records
from dialogkit.records import parse_dialog
from dialogkit.schema import dump
from dialogkit.synth import SynthJob
from dialogkit.synth.augment import _lang, _protected
from dialogkit.synth.check import check_dialog
from dialogkit.synth.client import RequestFailed
from dialogkit.synth.dedup import Deduper
from dialogkit.synth.journal import ItemResult, OrderedRunner, describe
from dialogkit.synth.llmrun import LLMOptions, LLMReport, LLMRun
from dialogkit.synth.prompts import CONTROL_TOKENS, PROMPT_HASH, paraphrase_system
from dialogkit.synth.selfplay import call_seed

_NUM = re.compile(r"\d+(?:[.:]\d+)*")


class ParaphraseOptions(LLMOptions):
    roles: str = "user,assistant"
    min_ratio: float = 0.3  # rewrite length / original length, bounds of a sane rewrite
    max_ratio: float = 3.0

    def run_config(self) -> dict[str, Any]:
        return {**super().run_config(), "roles": self.roles, "min_ratio": self.min_ratio, "max_ratio": self.max_ratio}


def _scalars(obj: Any, out: set[str]) -> None:
    if isinstance(obj, dict):
        for v in obj.values():
            _scalars(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _scalars(v, out)
    elif isinstance(obj, (str, int, float)) and not isinstance(obj, bool) and len(str(obj)) >= 2:
        out.add(str(obj))


def pinned_values(d: dict[str, Any]) -> list[str]:
    """Every value an annotation or a tool result holds (longest first)."""
    vals = set(_protected(d))
    for m in d["messages"]:
        if m.get("role") == "tool":
            _scalars(m.get("content"), vals)
    return sorted(vals, key=len, reverse=True)


def keep_in(text: str, pinned: list[str]) -> list[str]:
    """The pinned values and numbers this utterance contains (these must survive)."""
    found = [v for v in pinned if v in text]
    for n in _NUM.findall(text):
        if not any(n in v for v in found):
            found.append(n)
    return found


class Paraphraser:
    def __init__(self, opts: ParaphraseOptions, llm: LLMRun, seed: int):
        self.opts = opts
        self.llm = llm
        self.seed = seed
        self.roles = {r.strip() for r in opts.roles.split(",") if r.strip()}
        bad = self.roles - {"user", "assistant"}
        if bad:
            raise UsageError(f"--set roles: {sorted(bad)} (choose user, assistant)")

    def _check(self, original: str, keep: list[str]) -> Any:
        def check(content: str, calls: list[dict[str, Any]]) -> str | None:
            text = content.strip()
            if not text or calls:
                return "EMPTY: no rewritten text"
            lost = [v for v in keep if v not in text]
            if lost:
                return f"VALUE_LOST: {lost[0]!r} is missing"
            if any(t in text for t in CONTROL_TOKENS) or ("{" in text and "}" in text and "{" not in original):
                return "LEAK: braces or control tokens in the rewrite"
            ratio = len(text) / max(1, len(original))
            if not self.opts.min_ratio <= ratio <= self.opts.max_ratio:
                return f"LENGTH: rewrite is {ratio:.1f}x the original"
            return None
        return check

    async def _one(self, d: dict[str, Any], i: int, lang: str, pinned: list[str]) -> tuple[str, str | None]:
        m = d["messages"][i]
        text = m["content"]
        keep = keep_in(text, pinned)
        payload = {"model": self.llm.model_name("assistant"),
                   "messages": [{"role": "system", "content": paraphrase_system(lang, m["role"], keep)},
                                {"role": "user", "content": text}],
                   "temperature": self.opts.temperature, "max_tokens": self.opts.max_tokens,
                   "seed": call_seed(self.seed, d["id"], i)}
        try:
            out = await self.llm.client("assistant").complete(payload, {"item": d["id"], "role": "paraphrase", "turn": i},
                                                              self._check(text, keep))
        except RequestFailed as e:
            # a rejected rewrite carries its own reason code (VALUE_LOST ...); a transport failure its code
            return text, e.message if e.code == "INVALID_RESPONSE" else f"{e.code}: {e.message}"
        return out.content.strip(), None

    async def rewrite(self, index: int, d: dict[str, Any]) -> ItemResult:
        lang = _lang(d)
        pinned = pinned_values(d)
        targets = [i for i, m in enumerate(d["messages"]) if m.get("role") in self.roles
                   and isinstance(m.get("content"), str) and m["content"].strip() and not m.get("tool_calls")]
        outs = await asyncio.gather(*(self._one(d, i, lang, pinned) for i in targets))
        new = {**d, "messages": [dict(m) for m in d["messages"]], "metadata": dict(d.get("metadata") or {})}
        kept = []
        for i, (text, why) in zip(targets, outs):
            if why is None:
                new["messages"][i]["content"] = text
            else:
                kept.append({"message": i, "code": why.split(":")[0], "reason": why})
        new["metadata"]["paraphrase"] = {
            "model": self.llm.model_name("assistant"), "backend": self.llm.backend_name(), "prompt_hash": PROMPT_HASH,
            "seed": self.seed, "rewritten": len(targets) - len(kept), "kept": kept,
        }
        issues = check_dialog(new)
        if issues:
            if check_dialog({**new, "messages": d["messages"]}):
                # the input itself fails the full validation (dialogkit.validate): not written
                return ItemResult(index, str(d["id"]), None, describe(issues[0]), [i.code for i in issues])
            # A rewrite broke a dialog-level rule the per-utterance checks missed: keep the original text.
            new["messages"] = d["messages"]
            new["metadata"]["paraphrase"].update(rewritten=0, kept=[{"message": -1, "code": "CHECK_FAILED",
                                                                     "reason": describe(issues[0])}])
        return ItemResult(index, str(d["id"]), new, info={"rewritten": new["metadata"]["paraphrase"]["rewritten"]})


def _read_inputs(paths: list[Path], report: LLMReport) -> list[dict[str, Any]]:
    """Valid input dialogs, in order; bad records (and repeated ids) are reported and skipped."""
    out, seen = [], set()
    for path in paths:
        for raw in iter_records(path):
            if not raw.ok:
                report.reject([raw.issue] if raw.issue else [])
                continue
            try:
                d = dump(parse_dialog(raw.data, **raw.where()))
            except RecordError as e:
                report.reject(e.issues)
                continue
            issues = check_dialog(d, external=False)  # structure; the full validation runs on the output
            if issues:
                report.reject([i.located(file=raw.file, line=raw.line) for i in issues])
            elif str(d["id"]) in seen:
                report.reject([Issue("ID_DUPLICATE", f"id {d['id']!r} was seen earlier in the input", **raw.where())])
            else:
                seen.add(str(d["id"]))
                out.append(d)
    return out


def run(job: SynthJob) -> LLMReport:
    """Paraphrase the dialogs of ``job.inputs`` (the first ``job.n`` when given) into ``job.out``."""
    if not job.inputs:
        raise UsageError("paraphrase needs --in DIALOGS")
    opts = ParaphraseOptions.from_job(job)
    report = LLMReport()
    t0 = time.perf_counter()
    dialogs = _read_inputs(list(job.inputs), report)
    digest = hashlib.sha256()
    for p in job.inputs:
        digest.update(Path(p).read_bytes())
    config = {**opts.run_config(), "mode": "paraphrase", "seed": job.seed, "inputs_hash": digest.hexdigest(),
              "prompt_hash": PROMPT_HASH}
    asyncio.run(_run(job, opts, dialogs, config, report))
    report.seconds = time.perf_counter() - t0
    if job.n is not None and report.written < job.n:
        report.notes.append(f"only {report.written} of {job.n} dialogs could be paraphrased from the input")
    return report


async def _run(job: SynthJob, opts: ParaphraseOptions, dialogs: list[dict[str, Any]], config: dict[str, Any],
               report: LLMReport) -> None:
    async with LLMRun(job, opts, config, list(job.inputs)) as llm:
        para = Paraphraser(opts, llm, job.seed)
        slots = max(1, llm.opts.concurrency // 2)  # each dialog sends several utterances at once
        runner = OrderedRunner(llm.journal, llm.live, slots, job.n, len(dialogs), opts.retry_failed)
        dedup = Deduper(skeleton=False)

        def accept(res: ItemResult) -> ItemResult:
            if res.ok and dedup.seen(res.dialog):
                report.duplicates += 1
                return ItemResult(res.index, res.id, None, "near-duplicate", ["DUPLICATE"])
            if res.ok:
                kept = res.dialog["metadata"].get("paraphrase", {}).get("kept", [])
                for k in kept:
                    report.failure_codes[f"KEPT_{k['code']}"] = report.failure_codes.get(f"KEPT_{k['code']}", 0) + 1
            else:
                report.fail([Issue(c, res.reason or c, record_id=res.id) for c in res.codes[:1]])
            return res

        async def work(index: int) -> ItemResult:
            return await llm.guard(index, str(dialogs[index]["id"]), lambda i: para.rewrite(i, dialogs[i]))

        await runner.run(lambda i: str(dialogs[i]["id"]), work, accept, llm.progress)
        report.attempts = len(runner.accepted) + len(runner.dropped)
        report.written = llm.finish([r.dialog for r in runner.accepted])
        llm.notes(report, runner)
