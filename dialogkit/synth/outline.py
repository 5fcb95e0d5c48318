"""``synth --mode outline``: goal sampler + agenda user + rule policy + template NLG, offline.

The way SGD was built: the conversation is planned in dialog acts and only then verbalised,
so states, slots, tool calls, results, acts and goals are correct by construction. Each
dialog draws from its own ``random.Random`` seeded by sha256(seed, scenario, index), so
output bytes depend only on the seed (not on process, hash salt or dict order), and a
dropped dialog does not shift the ones after it.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from dialogkit import __version__
from dialogkit.errors import Issue, RecordError, UsageError
from dialogkit.io import JsonlWriter, ensure_not_input, write_parquet_records
from dialogkit.synth import GENERATOR_VERSION, SynthJob, SynthReport
from dialogkit.synth.check import check_dialog, validate_tools
from dialogkit.synth.db import Database
from dialogkit.synth.dedup import Deduper
from dialogkit.synth.goals import GoalPlan, GoalSampler
from dialogkit.synth.nlg import NLG
from dialogkit.synth.policy import Policy
from dialogkit.synth.scenario import LoadedScenario, load_scenario
from dialogkit.synth.user_sim import UserSimulator

MAX_TURNS = 16


class TurnLimit(Exception):
    """A simulated conversation did not end (a scenario loop); the dialog is dropped."""


def derive_seed(seed: int, scenario: str, index: int) -> int:
    digest = hashlib.sha256(f"{seed}:{scenario}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class OutlineGenerator:
    """Makes dialog ``index`` of a scenario for a seed; pure function of (seed, index)."""

    def __init__(self, scenario: LoadedScenario, seed: int, lang: str | None = None):
        spec = scenario.spec
        if lang is not None and lang not in spec.languages:
            raise UsageError(f"scenario {spec.name} has no language {lang!r} (it has {', '.join(spec.languages)})")
        self.sc = scenario
        self.spec = spec
        self.seed = seed
        self.langs = [lang] if lang else list(spec.languages)
        self.db = Database(scenario)
        self.sampler = GoalSampler(spec, self.db)
        self.tools = self.db.tool_specs()
        bad = validate_tools(self.tools)
        if bad:
            raise RecordError([i.located(file=str(scenario.path)) for i in bad])
        self.nlgs = {lg: NLG(lg, spec.nlg, spec.labels) for lg in spec.languages}

    def provenance(self, index: int) -> dict[str, Any]:
        return {
            "generator": "dialogkit.synth.outline", "generator_version": GENERATOR_VERSION,
            "dialogkit_version": __version__, "mode": "outline", "scenario": self.spec.name,
            "scenario_version": self.spec.version, "scenario_hash": self.sc.hash, "seed": self.seed, "index": index,
        }

    def dialog(self, index: int) -> dict[str, Any]:
        rng = random.Random(derive_seed(self.seed, self.spec.name, index))
        lang = self.langs[rng.randrange(len(self.langs))]
        nlg = self.nlgs[lang]
        plan = self.sampler.sample(rng, lang)
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.spec.system_prompt[lang]}]
        session = self.db.session()
        policy = Policy(self.spec, session, nlg, rng, messages)
        user = UserSimulator(self.spec, plan, nlg, rng)
        turn = user.start()
        for _ in range(MAX_TURNS):
            messages.append({"role": "user", "content": turn.text, "acts": turn.acts})
            sys_act = policy.respond(turn)
            if sys_act.type == "bye":
                break
            turn = user.respond(sys_act)
        else:
            raise TurnLimit(f"no goodbye after {MAX_TURNS} user turns")
        goal = plan.goal_dict(self.spec, nlg)
        final = session.final_state()
        domains = list(dict.fromkeys(self.spec.intents[i.intent].domain or self.spec.domain for i in plan.intents))
        return {
            "id": f"{self.spec.name}-{self.seed}-{index:06d}",
            "messages": messages,
            "tools": self.tools,
            "goal": goal,
            "metadata": {
                "domain": domains[0] if len(domains) == 1 else domains,
                "source": "dialogkit-synth",
                "language": lang,
                "provenance": self.provenance(index),
                "persona": plan.persona.name,
                "annotations": policy.annotations,
                "final_db": final,
                "outcome": outcome(plan, goal, final, policy),
            },
        }


def outcome(plan: GoalPlan, goal: dict[str, Any], final: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Whether the reference dialog met its goal: the record a scorer compares against."""
    booking = goal.get("booking") or {}
    records = final["bookings"] + final["updates"]
    if booking:
        met = any(all(r.get(k) == v for k, v in booking.items()) for r in records)
    else:
        met = not plan.wrong_auth and policy.done and not records
    errors = [a["error"] for a in policy.annotations if "error" in a]
    out: dict[str, Any] = {"goal_met": met}
    if errors:
        out["errors"] = errors
    if plan.aside is not None:
        out["refused"] = plan.aside.kind
    return out


def generate(gen: OutlineGenerator, n: int, report: SynthReport, progress: Any = None,
             max_attempts: int | None = None) -> list[dict[str, Any]]:
    """N valid, distinct dialogs; failures and duplicates are counted, never written."""
    dedup = Deduper(skeleton=True)
    out: list[dict[str, Any]] = []
    limit = max_attempts if max_attempts is not None else n * 5 + 50
    index = 0
    while len(out) < n and index < limit:
        index += 1
        try:
            d = gen.dialog(index)
        except TurnLimit as e:
            report.fail([Issue("TURN_LIMIT", str(e), record_id=f"{gen.spec.name}-{gen.seed}-{index:06d}")])
        else:
            issues = check_dialog(d, external=False, trusted_tools=gen.tools)
            if issues:
                report.fail(issues)
            elif dedup.seen(d):
                report.duplicates += 1
            else:
                out.append(d)
        if progress is not None:
            progress(len(out), report.failed + report.duplicates)
    report.attempts = index
    return out


def write_dialogs(path: Any, dialogs: list[dict[str, Any]]) -> int:
    if str(path).endswith(".parquet"):
        return write_parquet_records(path, dialogs)
    with JsonlWriter(path) as w:
        for d in dialogs:
            w.write(d)
    return w.count


def run(job: SynthJob) -> SynthReport:
    """Generate ``job.n`` outline dialogs into ``job.out`` (written once, atomically)."""
    if job.scenario is None:
        raise UsageError("outline needs --scenario FILE (or the name of a shipped scenario)")
    if job.n is None or job.n < 1:
        raise UsageError("outline needs --n N (N >= 1)")
    scenario = load_scenario(job.scenario)
    ensure_not_input(job.out, [scenario.path, *job.inputs])
    gen = OutlineGenerator(scenario, job.seed, job.lang)
    report = SynthReport()
    t0 = time.perf_counter()
    max_attempts = job.options.get("max_attempts")
    dialogs = generate(gen, job.n, report, job.progress, int(max_attempts) if max_attempts is not None else None)
    report.written = write_dialogs(job.out, dialogs)
    report.seconds = time.perf_counter() - t0
    if report.written < job.n:
        report.notes.append(f"only {report.written} of {job.n} distinct valid dialogs after {report.attempts} attempts")
    return report
