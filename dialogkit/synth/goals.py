"""Goal sampler: what one simulated user wants, drawn so that most goals are feasible.

Constraints are read off a real database row (``sample_from``/``sample_map``), so a search
finds something by construction; a configurable share of goals first states a value that
finds nothing, changes its mind at confirmation, or brings credentials that belong to
someone else. Those are the clarify / recovery / refusal situations a model must learn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from dialogkit.errors import InputError
from dialogkit.synth.db import Database
from dialogkit.synth.nlg import NLG
from dialogkit.synth.scenario import AsideDef, IntentDef, Persona, Scenario


@dataclass
class IntentGoal:
    intent: str
    constraints: dict[str, Any]
    requests: list[str] = field(default_factory=list)
    # slot -> value stated first; a search on it finds nothing, then the goal value is given
    first: dict[str, Any] = field(default_factory=dict)
    # (slot, new value) said when asked to confirm
    change: tuple[str, Any] | None = None
    # what the user says at first where it differs from the constraints (first / before change)
    initial: dict[str, Any] = field(default_factory=dict)

    def stated(self) -> dict[str, Any]:
        return {**self.constraints, **self.initial}


@dataclass
class GoalPlan:
    lang: str
    persona: Persona
    intents: list[IntentGoal]
    aside: AsideDef | None = None
    aside_at: str = "start"
    wrong_auth: bool = False

    def goal_dict(self, scenario: Scenario, nlg: NLG) -> dict[str, Any]:
        """The ``Goal`` record: intents, final constraints, requests, booking and a description."""
        constraints: dict[str, Any] = {}
        requests: list[str] = []
        for ig in self.intents:
            constraints.update(ig.constraints)
            requests += [r for r in ig.requests if r not in requests]
        goal: dict[str, Any] = {"intents": [ig.intent for ig in self.intents]}
        if constraints:
            goal["constraints"] = constraints
        if requests:
            goal["requests"] = requests
        booking = self.booking(scenario)
        if booking:
            goal["booking"] = booking
        goal["description"] = self.describe(scenario, nlg)
        return goal

    def booking(self, scenario: Scenario) -> dict[str, Any]:
        """Slot values a successful transaction's record must carry (empty for lookups)."""
        if self.wrong_auth:
            return {}
        out: dict[str, Any] = {}
        for k, ig in enumerate(self.intents):
            tool = scenario.tools.get(scenario.intents[ig.intent].tool or "")
            if tool is None or not tool.transactional:
                continue
            keys = set(tool.impl.record) | set(tool.impl.fields or [])
            arg_of = {s: a for a, s in scenario.intents[ig.intent].args.items()}
            for prior in self.intents[: k + 1]:
                for s, v in prior.constraints.items():
                    if arg_of.get(s, s) in keys:
                        out[arg_of.get(s, s)] = v
        return out

    def describe(self, scenario: Scenario, nlg: NLG) -> str:
        """The goal in words, for an LLM user simulator (self-play) and for humans."""
        lang = self.lang
        rng = _FIRST  # the description must not consume the dialog's randomness
        parts = [nlg.act(rng, "goal_intro", {"persona": self.persona.description.get(lang, self.persona.name)})]
        for ig in self.intents:
            intent = scenario.intents[ig.intent]
            cons = JOINER[lang].join(
                f"{slot_desc(scenario, s, lang)}{EQ[lang]}{v}" for s, v in ig.constraints.items()
            ) or NONE[lang]
            parts.append(nlg.act(rng, "goal_task", {"intent": intent.description.get(lang, ig.intent),
                                                    "constraints": cons}))
            if ig.requests:
                req = JOINER[lang].join(slot_desc(scenario, r, lang) for r in ig.requests)
                parts.append(nlg.act(rng, "goal_requests", {"requests": req}))
            for s, v in ig.first.items():
                parts.append(nlg.act(rng, "goal_first", {"slot": slot_desc(scenario, s, lang), "value": v,
                                                         "goal_value": ig.constraints[s]}))
            if ig.change:
                parts.append(nlg.act(rng, "goal_change", {"slot": slot_desc(scenario, ig.change[0], lang),
                                                          "value": ig.change[1]}))
        if self.aside is not None:
            parts.append(nlg.act(rng, "goal_aside"))
        return nlg.join(parts)


class _First(random.Random):
    """Always the first variant: descriptions are fixed text, not a draw."""

    def randrange(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        return 0


_FIRST = _First(0)
JOINER = {"zh": "，", "en": ", "}
EQ = {"zh": "：", "en": ": "}
NONE = {"zh": "无", "en": "nothing yet"}


def slot_desc(scenario: Scenario, slot: str, lang: str) -> str:
    s = scenario.slots.get(slot) or scenario.requests.get(slot)
    return (s.description.get(lang) if s else None) or slot


def _weighted(rng: random.Random, items: list[Any], weights: list[float]) -> Any:
    total = sum(weights)
    x = rng.random() * total
    for item, w in zip(items, weights):
        x -= w
        if x < 0:
            return item
    return items[-1]


class GoalSampler:
    """Draws :class:`GoalPlan` s for one scenario and language."""

    def __init__(self, scenario: Scenario, db: Database):
        self.sc = scenario
        self.db = db
        self.names = list(scenario.intents)

    def sample(self, rng: random.Random, lang: str) -> GoalPlan:
        sc = self.sc
        persona = _weighted(rng, sc.personas, [p.weight for p in sc.personas])
        chains = sc.goals.chains
        if chains and rng.random() < sc.goals.two_intents:
            names = list(chains[rng.randrange(len(chains))])
        else:
            names = [_weighted(rng, self.names, [sc.intents[n].weight for n in self.names])]
        plan = GoalPlan(lang=lang, persona=persona, intents=[])
        known: dict[str, Any] = {}
        carried: set[str] = set()
        for name in names:
            ig = self._intent_goal(rng, name, lang, persona, known, carried)
            known.update(ig.constraints)
            carried |= set(sc.intents[name].entity)
            plan.intents.append(ig)
        if sc.asides and rng.random() < sc.goals.aside:
            plan.aside = sc.asides[rng.randrange(len(sc.asides))]
            plan.aside_at = "start" if rng.random() < 0.5 else "end"
        if rng.random() < sc.goals.wrong_auth:
            plan.wrong_auth = self._spoil_auth(rng, plan)
        return plan

    def _row(self, rng: random.Random, intent: IntentDef, known: dict[str, Any]) -> dict[str, Any]:
        rows = self.db.tables[intent.sample_from] if intent.sample_from else []
        if intent.sample_where and rng.random() >= self.sc.goals.unsampled_rows:
            rows = [r for r in rows if all(r.get(c) in vs for c, vs in intent.sample_where.items())]
        # A chained intent keeps what the user already said ("a restaurant in the same area").
        keep = [(c, known[s]) for s, c in intent.sample_map.items() if s in known]
        if keep and intent.sample_from:
            cols = tuple(c for c, _ in keep)
            hits = self.db.index(intent.sample_from, cols).get(tuple(str(v).casefold() for _, v in keep), [])
            table = self.db.tables[intent.sample_from]
            same = [table[i] for i in hits if table[i] in rows] if intent.sample_where else [table[i] for i in hits]
            rows = same or rows
        return rows[rng.randrange(len(rows))] if rows else {}

    def _value(self, rng: random.Random, slot: str, lang: str) -> Any:
        values = self.sc.slots[slot].values_for(lang)
        if not values:
            raise InputError(f"scenario {self.sc.name}: slot {slot!r} has no values for '{lang}' and no sample_map")
        return values[rng.randrange(len(values))]

    def _intent_goal(self, rng: random.Random, name: str, lang: str, persona: Persona,
                     known: dict[str, Any], carried: set[str]) -> IntentGoal:
        intent = self.sc.intents[name]
        row = self._row(rng, intent, known)
        cons: dict[str, Any] = {}
        for slot in intent.slots():
            if slot in intent.entity or slot in carried:
                continue  # filled from the offered result, not by the user
            col = intent.sample_map.get(slot)
            if slot in known and (not col or row.get(col) == known[slot]):
                cons[slot] = known[slot]
                continue
            if slot not in intent.required and rng.random() < 0.5:
                continue
            col = intent.sample_map.get(slot)
            cons[slot] = row[col] if col and col in row else self._value(rng, slot, lang)
        ig = IntentGoal(name, cons)
        if intent.requestable and rng.random() < persona.requests:
            k = 1 if rng.random() < 0.7 or len(intent.requestable) < 2 else 2
            pool = list(intent.requestable)
            ig.requests = [pool.pop(rng.randrange(len(pool))) for _ in range(k)]
        if intent.search and rng.random() < self.sc.goals.infeasible:
            self._make_first_fail(rng, intent, ig, lang, known)
        tool = self.sc.tools.get(intent.tool or "")
        if tool is not None and tool.transactional and rng.random() < persona.change_mind:
            free = [s for s in intent.required if s in cons and s not in intent.sample_map and s not in known]
            if free:
                slot = free[rng.randrange(len(free))]
                options = [v for v in self.sc.slots[slot].values_for(lang) if v != cons[slot]]
                if options:
                    new = options[rng.randrange(len(options))]
                    ig.change = (slot, new)
                    ig.initial[slot] = cons[slot]
                    cons[slot] = new
        return ig

    def _make_first_fail(self, rng: random.Random, intent: IntentDef, ig: IntentGoal, lang: str,
                         known: dict[str, Any]) -> None:
        """Pick a first value for one searched slot that provably finds nothing."""
        searchable = [s for s in intent.sample_map if s in ig.constraints and s not in known]
        if not searchable:
            return
        slot = searchable[rng.randrange(len(searchable))]
        options = [v for v in self.sc.slots[slot].values_for(lang) if v != ig.constraints[slot]]
        rng.shuffle(options)
        session = self.db.session()
        for v in options[:6]:
            args = search_args(intent, {**ig.constraints, slot: v})
            res = session.execute(intent.search or "", args)
            if res.get("count") == 0:
                ig.first[slot] = v
                ig.initial[slot] = v
                return

    def _spoil_auth(self, rng: random.Random, plan: GoalPlan) -> bool:
        for ig in plan.intents:
            intent = self.sc.intents[ig.intent]
            for tname in (intent.search, intent.tool):
                tool = self.sc.tools.get(tname or "")
                if tool is None or not tool.impl.auth:
                    continue
                col, arg = next(iter(tool.impl.auth.items()))
                slot = _slot_of(intent, arg)
                rows = [r for r in self.db.tables[tool.impl.table] if r.get(col) != ig.constraints.get(slot)]
                if slot in ig.constraints and rows:
                    wrong = rows[rng.randrange(len(rows))][col]
                    for other in plan.intents:
                        if slot in other.constraints:
                            other.constraints[slot] = wrong
                    return True
        return False


def _slot_of(intent: IntentDef, arg: str) -> str:
    return intent.args.get(arg) or intent.search_args.get(arg) or arg


def search_args(intent: IntentDef, slots: dict[str, Any]) -> dict[str, Any]:
    """Arguments of the intent's search tool from slot values (argument -> slot mapping)."""
    names = intent.search_args or {s: s for s in intent.slots() if s not in intent.entity}
    return {a: slots[s] for a, s in names.items() if s in slots}


def tool_args(intent: IntentDef, slots: dict[str, Any]) -> dict[str, Any]:
    names = intent.args or {s: s for s in intent.slots()}
    return {a: slots[s] for a, s in names.items() if s in slots}
