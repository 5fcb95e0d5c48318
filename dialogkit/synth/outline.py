"""``synth --mode outline``: goal sampler + agenda user + rule policy + template NLG, offline.

The way SGD was built: the conversation is planned in dialog acts and only then verbalised,
so states, slots, tool calls, results, acts and goals are correct by construction. Each
dialog draws from its own ``random.Random`` seeded by sha256(seed, scenario, index), so
output bytes depend only on the seed (not on process, hash salt or dict order), and a
dropped dialog does not shift the ones after it. That is also what lets ``--workers N``
processes make dialogs side by side (:mod:`dialogkit.synth.workers`) with the same bytes out.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from typing import Any

import orjson

from dialogkit import __version__
from dialogkit.errors import Issue, RecordError, UsageError
from dialogkit.io import AtomicWriter, JsonlWriter, dumps, ensure_not_input, write_parquet_records
from dialogkit.synth import GENERATOR_VERSION, SynthJob, SynthReport
from dialogkit.synth.check import check_dialog, validate_tools
from dialogkit.synth.db import Database
from dialogkit.synth.dedup import Deduper, skeleton_key, text_key
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


# One attempt, decided by the parent: (index, dialog dict or JSONL bytes or None, issues, dedup keys).
# Payload ``None`` with no issues: skipped as a known duplicate before the (costly) checks;
# issues ``None``: not checked (a worker's guess that it is a duplicate, see Decider.take).
Attempt = tuple[int, Any, list[Issue] | None, tuple[str, ...]]


def attempt(gen: OutlineGenerator, index: int, dedup: Deduper | None, serialize: bool) -> Attempt:
    """Dialog ``index`` with its dedup keys and check errors.

    With ``dedup`` (one process), a dialog that repeats an accepted one is not checked or
    serialised at all: duplicates are a third of some scenarios' attempts. A worker process has
    no view of what was accepted, so it checks everything and the parent decides.
    """
    try:
        d = gen.dialog(index)
    except TurnLimit as e:
        return index, None, [Issue("TURN_LIMIT", str(e), record_id=f"{gen.spec.name}-{gen.seed}-{index:06d}")], ()
    skeleton = skeleton_key(d)
    if dedup is not None and dedup.has((skeleton,)):
        return index, None, [], (skeleton,)  # the usual near-duplicate: the text key is not needed
    keys = (skeleton, text_key(d))
    if dedup is not None and dedup.has(keys):
        return index, None, [], keys
    issues = check_dialog(d, external=False, trusted_tools=gen.tools)
    if issues:
        return index, None, issues, keys
    return index, dumps(d) if serialize else d, [], keys


class Decider:
    """Accepts attempts strictly in index order: the same dialogs whoever made them."""

    def __init__(self, n: int, report: SynthReport, progress: Any = None,
                 redo: Callable[[int], Attempt] | None = None):
        self.n = n
        self.report = report
        self.progress = progress
        self.redo = redo  # makes and checks an unchecked attempt that turned out not to be a duplicate
        self.dedup = Deduper(skeleton=True)
        self.out: list[Any] = []
        self.last = 0

    @property
    def done(self) -> bool:
        return len(self.out) >= self.n

    def take(self, a: Attempt) -> None:
        index, payload, issues, keys = a
        self.last = index
        if keys and self.dedup.has(keys):  # duplicates first: a repeated dialog is never checked
            self.report.duplicates += 1
            return self._progress()
        if issues is None:
            assert self.redo is not None, "an unchecked attempt needs a redo function"
            index, payload, issues, keys = self.redo(index)
        if issues:
            self.report.fail(issues)
        else:
            self.dedup.add(keys)
            self.out.append(payload)
        self._progress()

    def _progress(self) -> None:
        if self.progress is not None:
            self.progress(len(self.out), self.report.failed + self.report.duplicates)


def attempt_limit(n: int, max_attempts: int | None) -> int:
    return max_attempts if max_attempts is not None else n * 5 + 50


def generate(gen: OutlineGenerator, n: int, report: SynthReport, progress: Any = None,
             max_attempts: int | None = None) -> list[dict[str, Any]]:
    """N valid, distinct dialogs (in this process); failures and duplicates are counted, never returned."""
    return _sequential(gen, n, report, progress, attempt_limit(n, max_attempts), serialize=False)


def generate_lines(gen: OutlineGenerator, n: int, report: SynthReport, progress: Any = None,
                   max_attempts: int | None = None, workers: int = 1) -> list[bytes]:
    """Like :func:`generate`, as JSONL lines (no newline), made by ``workers`` processes.

    The output bytes do not depend on ``workers``: every dialog is a pure function of
    (seed, index), and the parent accepts them in index order.
    """
    limit = attempt_limit(n, max_attempts)
    if workers <= 1:
        return _sequential(gen, n, report, progress, limit, serialize=True)
    from dialogkit.synth.workers import generate_parallel

    return generate_parallel(gen, n, report, progress, limit, workers)


def _sequential(gen: OutlineGenerator, n: int, report: SynthReport, progress: Any, limit: int,
                serialize: bool) -> list[Any]:
    decider = Decider(n, report, progress)
    index = 0
    while not decider.done and index < limit:
        index += 1
        decider.take(attempt(gen, index, decider.dedup, serialize))
    report.attempts = decider.last
    return decider.out


def write_dialogs(path: Any, dialogs: list[dict[str, Any]]) -> int:
    if str(path).endswith(".parquet"):
        return write_parquet_records(path, dialogs)
    with JsonlWriter(path) as w:
        for d in dialogs:
            w.write(d)
    return w.count


def write_lines(path: Any, lines: list[bytes]) -> int:
    """JSONL lines as they are (atomically); Parquet gets the records decoded again."""
    if str(path).endswith(".parquet"):
        return write_parquet_records(path, [orjson.loads(line) for line in lines])
    with AtomicWriter(path) as fh:
        for line in lines:
            fh.write(line + b"\n")
    return len(lines)


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
    max_attempts = _int_option(job, "max_attempts", 1)
    workers = _int_option(job, "workers", 1) or 1
    lines = generate_lines(gen, job.n, report, job.progress, max_attempts, workers)
    report.written = write_lines(job.out, lines)
    report.seconds = time.perf_counter() - t0
    if report.written < job.n:
        report.notes.append(f"only {report.written} of {job.n} distinct valid dialogs after {report.attempts} attempts")
    return report


def _int_option(job: SynthJob, name: str, minimum: int) -> int | None:
    value = job.options.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = minimum - 1
    if number < minimum:
        raise UsageError(f"{name}: expected a whole number >= {minimum}, got {value!r}")
    return number
