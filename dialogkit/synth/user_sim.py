"""Agenda-based user simulator (Schatzmann et al.): the user acts from a goal, never improvises.

The simulator sees only the assistant's dialog act (:class:`SysAct`), not its text, and answers
with a :class:`UserTurn` whose text is rendered from templates and whose semantics
(``inform``, ``requests``, ``acts``) are exact. That is what makes the annotations correct by
construction: the state the policy tracks is built from these semantics, not parsed back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from dialogkit.synth.goals import GoalPlan, IntentGoal
from dialogkit.synth.nlg import NLG, fields
from dialogkit.synth.scenario import Scenario


@dataclass
class SysAct:
    """What the assistant just did, as the user simulator perceives it."""

    type: str  # request | no_results | confirm | offer | done | answer | failure | refuse | bye
    slots: list[str] = field(default_factory=list)


@dataclass
class UserTurn:
    text: str
    kind: str  # open | inform | affirm | change | request | aside | bye | vague
    acts: list[dict[str, Any]] = field(default_factory=list)
    intent: str | None = None
    inform: dict[str, Any] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    aside: Any = None  # the AsideDef of an out-of-scope/unauthorized request


def act(name: str, slot: str | None = None, values: list[Any] | None = None) -> dict[str, Any]:
    """A ``DialogAct`` in canonical form (defaults left out)."""
    d: dict[str, Any] = {"act": name}
    if slot is not None:
        d["slot"] = slot
    if values:
        d["values"] = values
    return d


class UserSimulator:
    def __init__(self, scenario: Scenario, plan: GoalPlan, nlg: NLG, rng: random.Random):
        self.sc = scenario
        self.plan = plan
        self.nlg = nlg
        self.rng = rng
        self.k = -1  # index of the intent being pursued
        self.said: dict[str, Any] = {}  # slot values the user has given so far
        self.requests: list[str] = []
        self.aside_pending = plan.aside is not None

    @property
    def goal(self) -> IntentGoal:
        return self.plan.intents[self.k]

    # -------------------------------------------------------------------------- turns
    def start(self) -> UserTurn:
        if self.aside_pending and self.plan.aside_at == "start":
            return self._aside()
        return self._open_next()

    def respond(self, sys: SysAct) -> UserTurn:
        t = sys.type
        if t == "request":
            return self._inform(sys.slots)
        if t == "no_results":
            fix = {s: self.goal.constraints[s] for s in self.goal.first if self.said.get(s) != self.goal.constraints[s]}
            return self._inform(list(fix), values=fix, prefix="negate") if fix else self._bye()
        if t == "confirm":
            change = self.goal.change
            if change is not None and self.said.get(change[0]) != change[1]:
                return self._inform([change[0]], values={change[0]: change[1]}, prefix="negate", kind="change")
            return UserTurn(self.nlg.act(self.rng, "affirm"), "affirm", [act("AFFIRM")])
        if t == "refuse" and self.k < 0:
            return self._open_next()
        if t in ("failure", "bye"):
            return self._bye()
        return self._next_step()

    def _next_step(self) -> UserTurn:
        if self.requests:
            return self._request(self.requests.pop(0))
        if self.k + 1 < len(self.plan.intents):
            return self._open_next()
        if self.aside_pending:
            return self._aside()
        return self._bye()

    # ------------------------------------------------------------------------ renderers
    def _open_next(self) -> UserTurn:
        self.k += 1
        ig = self.goal
        intent = self.sc.intents[ig.intent]
        self.requests = list(ig.requests)
        lang = self.plan.lang
        variants = (intent.follow.get(lang) if self.k > 0 else None) or intent.open[lang]
        sayable = {s: v for s, v in ig.stated().items() if self.said.get(s) != v}
        fits = [t for t in variants if fields(t) <= sayable.keys()]
        if not fits:
            fits = [t for t in variants if not fields(t)] or variants[:1]
        if self.rng.random() < self.plan.persona.overinform:
            most = max(len(fields(t)) for t in fits)
            fits = [t for t in fits if len(fields(t)) == most]
        template = fits[self.rng.randrange(len(fits))]
        text = self.nlg.render(template, sayable)
        given = {s: sayable[s] for s in sorted(fields(template)) if s in sayable}
        # Optional constraints are never asked for, so the user volunteers them now.
        extra = [s for s in intent.optional if s in sayable and s not in given and s not in intent.required]
        if extra:
            text = self.nlg.join([text] + [self.nlg.pick(self.rng, self.sc.slots[s].inform[lang], sayable) for s in extra])
            given.update({s: sayable[s] for s in extra})
        if self.k == 0 and self.plan.aside_at != "start" and self.rng.random() < self.plan.persona.polite:
            text = self.nlg.act(self.rng, "hello") + text
        self.said.update(given)
        acts = [act("INFORM_INTENT", "intent", [ig.intent])] + [act("INFORM", s, [v]) for s, v in given.items()]
        return UserTurn(text, "open", acts, intent=ig.intent, inform=given)

    def _inform(self, slots: list[str], values: dict[str, Any] | None = None, prefix: str | None = None,
                kind: str = "inform") -> UserTurn:
        stated = self.goal.stated()
        given: dict[str, Any] = {}
        phrases = []
        for s in slots:
            v = (values or {}).get(s, stated.get(s))
            if v is None:
                continue
            given[s] = v
            phrases.append(self.nlg.pick(self.rng, self.sc.slots[s].inform[self.plan.lang], {s: v}))
        text = self.nlg.chain(phrases)
        if prefix:
            text = self.nlg.act(self.rng, prefix) + text
        self.said.update(given)
        acts = [act("INFORM", s, [v]) for s, v in given.items()]
        if kind == "change":
            acts.insert(0, act("NEGATE"))
        return UserTurn(text, kind, acts, inform=given)

    def _request(self, field_name: str) -> UserTurn:
        text = self.nlg.pick(self.rng, self.sc.requests[field_name].user[self.plan.lang])
        return UserTurn(text, "request", [act("REQUEST", field_name)], requests=[field_name])

    def _aside(self) -> UserTurn:
        aside = self.plan.aside
        assert aside is not None
        self.aside_pending = False
        text = self.nlg.pick(self.rng, aside.user[self.plan.lang])
        return UserTurn(text, "aside", [act("OUT_OF_SCOPE" if aside.kind == "out_of_scope" else "UNAUTHORIZED")],
                        aside=aside)

    def _bye(self) -> UserTurn:
        return UserTurn(self.nlg.act(self.rng, "user_bye"), "bye", [act("THANK_YOU"), act("GOODBYE")])
