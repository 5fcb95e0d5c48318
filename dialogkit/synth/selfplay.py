"""``synth --mode selfplay``: an LLM user simulator talks to an LLM assistant that calls real tools.

Each dialog ``index`` starts from the same goal the outline generator would draw for it
(same seed derivation), so the outline dialog of that index is a *reference trajectory*:
the self-play dialog succeeds when its final database equals the reference's (bookings and
updates, ids aside), every requested fact the reference gave appears in an assistant reply,
and the user ended the conversation itself (tau-bench's reward, computed offline).

The user simulator sees the hidden goal and persona (:mod:`dialogkit.synth.prompts`), never
the tool traffic, and ends with a control token; the termination reason is recorded
(``user_stop``, ``transfer``, ``out_of_scope``, ``max_turns``, ``user_error``,
``agent_error``, ``infrastructure_error``). The assistant gets the scenario's tools; its calls
run on the scenario database (:class:`dialogkit.synth.db.Session`) and the results go back
to it. Every request goes through one :class:`~dialogkit.synth.client.ChatClient` (limits,
retries, journal); dialogs are decided in index order by
:class:`~dialogkit.synth.journal.OrderedRunner`, so a run resumes exactly after a crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from typing import Any

from pydantic import Field

from dialogkit import __version__
from dialogkit.errors import Issue, UsageError
from dialogkit.synth import GENERATOR_VERSION, SynthJob, SynthReport
from dialogkit.synth.check import check_dialog
from dialogkit.synth.client import Completion, RequestFailed
from dialogkit.synth.dedup import Deduper
from dialogkit.synth.journal import ItemResult, OrderedRunner, describe
from dialogkit.synth.llmrun import LLMOptions, LLMReport, LLMRun
from dialogkit.synth.outline import OutlineGenerator, TurnLimit, derive_seed
from dialogkit.synth.prompts import CONTROL_TOKENS, GREETING, PROMPT_HASH, assistant_system, user_system
from dialogkit.synth.scenario import load_scenario

_TERMINAL_ERRORS = {"user_error": "USER_ERROR", "agent_error": "AGENT_ERROR",
                    "infrastructure_error": "INFRASTRUCTURE_ERROR"}


class SelfPlayOptions(LLMOptions):
    """``--set`` options of self-play (plus the shared LLM options)."""

    max_turns: int = 12
    max_tool_rounds: int = 4
    keep: str = "success"  # success | valid
    user_temperature: float | None = None
    # Dialogs started beyond those expected to be needed, so the end of a run keeps its request
    # slots busy (OrderedRunner's ``extra``). None: concurrency // 4 (at least 2); 0: only those
    # the acceptance rate so far says are needed (fewest requests spent on unkept dialogs).
    speculate: int | None = Field(None, ge=0)

    def extra_dialogs(self) -> int:
        return self.speculate if self.speculate is not None else max(2, self.concurrency // 4)

    def run_config(self) -> dict[str, Any]:
        return {**super().run_config(), "max_turns": self.max_turns, "max_tool_rounds": self.max_tool_rounds,
                "keep": self.keep, "user_temperature": self.user_temperature}


class AgentError(Exception):
    """The assistant did not produce a reply within its tool-call budget."""


def call_seed(*parts: Any) -> int:
    """A per-request seed from sha256 of its coordinates (never ``hash()``)."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:4], "big") >> 1


def split_control(text: str) -> tuple[str, str | None]:
    """The text before the first control token, and the token (or None)."""
    hits = [(text.find(t), t) for t in CONTROL_TOKENS if t in text]
    if not hits:
        return text.strip(), None
    pos, tok = min(hits)
    return text[:pos].strip(), tok


def _api_tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["arguments"], ensure_ascii=False)}}
            for c in calls]


class SelfPlay:
    """Makes self-play dialog ``index`` of a scenario for a seed."""

    def __init__(self, gen: OutlineGenerator, opts: SelfPlayOptions, llm: LLMRun):
        self.gen = gen
        self.spec = gen.spec
        self.opts = opts
        self.llm = llm
        self.api_tools = [{"type": "function", "function": t["function"]} for t in gen.tools]
        self.id_fields = {n: t.impl.id_field for n, t in self.spec.tools.items()}

    def dialog_id(self, index: int) -> str:
        return f"{self.spec.name}-sp-{self.gen.seed}-{index:06d}"

    # ---------------------------------------------------------------------------- checks
    def _user_check(self, content: str, calls: list[dict[str, Any]]) -> str | None:
        text, tok = split_control(content)
        if not text and tok is None:
            return "empty user message"
        if "{" in text and "}" in text:
            return "user message holds braces (a template or JSON)"
        return None

    def _assistant_check(self, content: str, calls: list[dict[str, Any]]) -> str | None:
        for c in calls:
            errs = self.gen.db.argument_errors(c["name"], c["arguments"])
            if errs:
                return f"tool call {c['name']}: {'; '.join(errs)}"
        if not calls and not content.strip():
            return "empty reply"
        if "{" in content and "}" in content:
            return "reply holds braces (a template or JSON)"
        return None

    # ------------------------------------------------------------------------- requests
    def _payload(self, role: str, messages: list[dict[str, Any]], index: int, turn: int, rnd: int) -> dict[str, Any]:
        o = self.opts
        temp = o.temperature if role == "assistant" or o.user_temperature is None else o.user_temperature
        p: dict[str, Any] = {"model": self.llm.model_name(role), "messages": messages, "temperature": temp,
                             "max_tokens": o.max_tokens, "seed": call_seed(self.gen.seed, index, role, turn, rnd)}
        if role == "assistant":
            p["tools"] = self.api_tools
        return p

    async def _ask(self, role: str, messages: list[dict[str, Any]], index: int, turn: int, rnd: int,
                   count: dict[str, int]) -> Completion:
        client = self.llm.client(role)
        check = self._assistant_check if role == "assistant" else self._user_check
        meta = {"item": self.dialog_id(index), "role": role, "turn": turn}
        # Lower index first: the dialogs the run needs soonest never wait behind later ones.
        out = await client.complete(self._payload(role, messages, index, turn, rnd), meta, check, priority=index)
        count["requests"] += 1 + out.sample
        count["resampled"] += out.sample
        if out.fingerprint:
            count.setdefault("fingerprints", set()).add(out.fingerprint)  # type: ignore[union-attr]
        return out

    async def _assistant_turn(self, msgs: list[dict[str, Any]], api: list[dict[str, Any]], session: Any,
                              index: int, turn: int, count: dict[str, int]) -> str:
        for rnd in range(self.opts.max_tool_rounds + 1):
            a = await self._ask("assistant", api, index, turn, rnd, count)
            if not a.tool_calls:
                msgs.append({"role": "assistant", "content": a.content})
                api.append({"role": "assistant", "content": a.content})
                return a.content
            if rnd == self.opts.max_tool_rounds:
                raise AgentError(f"still calling tools after {rnd} rounds")
            calls = []
            for c in a.tool_calls:
                count["calls"] += 1
                calls.append({**c, "id": f"call_{count['calls']}"})  # unique within the dialog
            msgs.append({"role": "assistant", "content": a.content, "tool_calls": calls})
            api.append({"role": "assistant", "content": a.content or None, "tool_calls": _api_tool_calls(calls)})
            for c in calls:
                result = session.execute(c["name"], c["arguments"])
                msgs.append({"role": "tool", "tool_call_id": c["id"], "name": c["name"], "content": result})
                api.append({"role": "tool", "tool_call_id": c["id"], "content": json.dumps(result, ensure_ascii=False)})
        raise AgentError("no reply")  # pragma: no cover - the loop returns or raises

    # ---------------------------------------------------------------------------- dialog
    async def converse(self, index: int) -> tuple[dict[str, Any], str, list[str]]:
        """The dialog record, its termination reason and codes of the requests that failed."""
        gen, spec = self.gen, self.spec
        rng = random.Random(derive_seed(gen.seed, spec.name, index))
        lang = gen.langs[rng.randrange(len(gen.langs))]  # the outline generator's draws, in its order
        plan = gen.sampler.sample(rng, lang)
        goal = plan.goal_dict(spec, gen.nlgs[lang])
        session = gen.db.session()
        system = assistant_system(lang, spec.system_prompt[lang])
        msgs: list[dict[str, Any]] = [{"role": "system", "content": system}]
        api: list[dict[str, Any]] = [{"role": "system", "content": system}]
        sim = [{"role": "system", "content": user_system(lang, goal)}, {"role": "user", "content": GREETING[lang]}]
        count: dict[str, Any] = {"requests": 0, "resampled": 0, "calls": 0}
        termination, codes, last_user = "max_turns", [], None
        turns = 0
        try:
            for turn in range(self.opts.max_turns):
                u = await self._ask("user", sim, index, turn, 0, count)
                text, tok = split_control(u.content)
                if tok is not None:
                    termination, last_user = CONTROL_TOKENS[tok], text or None
                    break
                turns += 1
                msgs.append({"role": "user", "content": text})
                api.append({"role": "user", "content": text})
                sim.append({"role": "assistant", "content": text})
                reply = await self._assistant_turn(msgs, api, session, index, turn, count)
                sim.append({"role": "user", "content": reply})
        except RequestFailed as e:
            codes.append(e.code)
            transport = e.code in ("RATE_LIMITED", "SERVER_ERROR", "TIMEOUT", "CONNECTION_ERROR",
                                   "MALFORMED_RESPONSE", "BAD_REQUEST", "CONTEXT_LENGTH")
            role = "user" if len(sim) % 2 == 0 else "assistant"
            termination = "infrastructure_error" if transport else f"{role}_error"
        except AgentError:
            termination = "agent_error"
        final = session.final_state()
        d = self._record(index, lang, plan, goal, msgs, final, termination, turns, count, last_user)
        return d, termination, codes

    def _record(self, index: int, lang: str, plan: Any, goal: dict[str, Any], msgs: list[dict[str, Any]],
                final: dict[str, Any], termination: str, turns: int, count: dict[str, Any],
                last_user: str | None) -> dict[str, Any]:
        spec = self.spec
        domains = list(dict.fromkeys(spec.intents[i.intent].domain or spec.domain for i in plan.intents))
        ref = self._reference(index)
        sp: dict[str, Any] = {"termination": termination, "user_turns": turns, "requests": count["requests"],
                              "resampled": count["resampled"]}
        if last_user:
            sp["final_user_message"] = last_user
        prov = {
            "generator": "dialogkit.synth.selfplay", "generator_version": GENERATOR_VERSION,
            "dialogkit_version": __version__, "mode": "selfplay", "scenario": spec.name,
            "scenario_version": spec.version, "scenario_hash": self.gen.sc.hash, "seed": self.gen.seed, "index": index,
            "model": self.llm.model_name("assistant"), "user_model": self.llm.model_name("user"),
            "backend": self.llm.backend_name(), "prompt_hash": PROMPT_HASH, "temperature": self.opts.temperature,
            "user_temperature": self.opts.user_temperature if self.opts.user_temperature is not None
            else self.opts.temperature,
        }
        if count.get("fingerprints"):
            prov["system_fingerprints"] = sorted(count["fingerprints"])
        return {
            "id": self.dialog_id(index), "messages": msgs, "tools": self.gen.tools, "goal": goal,
            "metadata": {
                "domain": domains[0] if len(domains) == 1 else domains, "source": "dialogkit-synth",
                "language": lang, "provenance": prov, "persona": plan.persona.name, "selfplay": sp,
                "final_db": final, "outcome": self.judge(goal, final, msgs, ref, termination),
            },
        }

    def _reference(self, index: int) -> dict[str, Any] | None:
        try:
            return self.gen.dialog(index)
        except TurnLimit:
            return None

    def _canon(self, final: dict[str, Any]) -> list[str]:
        out = []
        for rec in final.get("bookings", []) + final.get("updates", []):
            drop = self.id_fields.get(rec.get("tool", ""), "")
            out.append(json.dumps({k: v for k, v in rec.items() if k != drop}, sort_keys=True, ensure_ascii=False))
        return sorted(out)

    def judge(self, goal: dict[str, Any], final: dict[str, Any], msgs: list[dict[str, Any]],
              ref: dict[str, Any] | None, termination: str) -> dict[str, Any]:
        """tau-style outcome: final database vs the reference's, requested facts said, user ended."""
        booking = goal.get("booking") or {}
        records = final["bookings"] + final["updates"]
        goal_met = any(all(r.get(k) == v for k, v in booking.items()) for r in records) if booking else None
        if ref is not None:
            db_match = self._canon(final) == self._canon(ref["metadata"]["final_db"])
        else:
            db_match = bool(goal_met) if booking else not records
        said = " ".join(m.get("content") or "" for m in msgs if m["role"] == "assistant").casefold()
        communicated: dict[str, bool] = {}
        for r in goal.get("requests", []):
            values = [v for m in (ref or {}).get("messages", []) if m["role"] == "assistant"
                      for a in m.get("acts") or [] if a.get("act") == "INFORM" and a.get("slot") == r
                      for v in a.get("values", [])]
            communicated[r] = any(str(v).casefold() in said for v in values) if values else True
        success = db_match and all(communicated.values()) and termination == "user_stop"
        out: dict[str, Any] = {"success": success, "db_match": db_match, "termination": termination}
        if goal_met is not None:
            out["goal_met"] = goal_met
        if communicated:
            out["communicated"] = communicated
        if ref is not None:
            out["reference_goal_met"] = ref["metadata"]["outcome"].get("goal_met")
        return out

    async def item(self, index: int) -> ItemResult:
        """One dialog, checked: an :class:`ItemResult` with the dialog or why it was dropped."""
        did = self.dialog_id(index)
        d, termination, codes = await self.converse(index)
        info = {"termination": termination, "success": d["metadata"]["outcome"]["success"]}
        if termination in _TERMINAL_ERRORS:
            return ItemResult(index, did, None, termination, [_TERMINAL_ERRORS[termination], *codes], info)
        issues = check_dialog(d, trusted_tools=self.gen.tools)
        if issues:
            return ItemResult(index, did, None, describe(issues[0]), [i.code for i in issues], info)
        if self.opts.keep == "success" and not d["metadata"]["outcome"]["success"]:
            return ItemResult(index, did, None, f"goal not met ({termination})", ["GOAL_NOT_MET"], info)
        return ItemResult(index, did, d, info=info)


def run(job: SynthJob) -> SynthReport:
    """Self-play ``job.n`` dialogs into ``job.out``; resumes from ``OUT.journal`` when it exists."""
    if job.scenario is None:
        raise UsageError("selfplay needs --scenario FILE (or the name of a shipped scenario)")
    if job.n is None or job.n < 1:
        raise UsageError("selfplay needs --n N (N >= 1)")
    opts = SelfPlayOptions.from_job(job)
    if opts.keep not in ("success", "valid"):
        raise UsageError(f"--set keep={opts.keep}: expected success or valid")
    scenario = load_scenario(job.scenario)
    gen = OutlineGenerator(scenario, job.seed, job.lang)
    config = {**opts.run_config(), "mode": "selfplay", "scenario": scenario.name, "scenario_hash": scenario.hash,
              "seed": job.seed, "lang": job.lang, "prompt_hash": PROMPT_HASH}
    return asyncio.run(_run(job, opts, gen, config, [scenario.path]))


async def _run(job: SynthJob, opts: SelfPlayOptions, gen: OutlineGenerator, config: dict[str, Any],
               inputs: list[Any]) -> SynthReport:
    t0 = time.perf_counter()
    report = LLMReport()
    async with LLMRun(job, opts, config, inputs) as llm:
        sp = SelfPlay(gen, opts, llm)
        limit = opts.max_attempts if opts.max_attempts is not None else job.n * 4 + 20
        runner = OrderedRunner(llm.journal, llm.live, llm.slots(), job.n, limit, opts.retry_failed, first=1,
                               extra=opts.extra_dialogs())
        dedup = Deduper(skeleton=False)

        def accept(res: ItemResult) -> ItemResult:
            if res.ok and dedup.seen(res.dialog):
                report.duplicates += 1
                return ItemResult(res.index, res.id, None, "near-duplicate", ["DUPLICATE"])
            if not res.ok and res.codes != ["DUPLICATE"]:
                report.fail([Issue(c, res.reason or c, record_id=res.id) for c in res.codes[:1]])
            return res

        async def work(index: int) -> ItemResult:
            return await llm.guard(index, sp.dialog_id(index), sp.item)

        await runner.run(sp.dialog_id, work, accept, llm.progress)
        report.attempts = len(runner.accepted) + len(runner.dropped)
        report.written = llm.finish([r.dialog for r in runner.accepted])
        llm.notes(report, runner)
    report.seconds = time.perf_counter() - t0
    if report.written < job.n:
        report.notes.append(f"only {report.written} of {job.n} valid dialogs after {report.attempts} attempts "
                            f"(raise --set max_attempts=..., or see failure codes)")
    return report
