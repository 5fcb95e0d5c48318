"""Rule-based assistant policy: tracks the state, clarifies, confirms, refuses, calls real tools.

Every assistant message it writes carries the state it acted on, its dialog acts and an
``expected`` label, and the policy records, per message, the facts a negative-pair miner
needs: the required and missing slots at a clarification, each tool argument's source slot,
and which tool call supports an answer (``annotations``).
"""

from __future__ import annotations

import random
from typing import Any

from dialogkit.synth.db import Session, error
from dialogkit.synth.goals import search_args, tool_args
from dialogkit.synth.nlg import NLG, fields
from dialogkit.synth.scenario import IntentDef, Scenario, ToolDef
from dialogkit.synth.user_sim import SysAct, UserTurn, act


class Policy:
    def __init__(self, scenario: Scenario, session: Session, nlg: NLG, rng: random.Random,
                 messages: list[dict[str, Any]]):
        self.sc = scenario
        self.db = session
        self.nlg = nlg
        self.rng = rng
        self.messages = messages
        self.annotations: list[dict[str, Any]] = []
        self.intent_name: str | None = None
        self.domain: str | None = None
        self.slots: dict[str, Any] = {}
        self.frames: dict[str, dict[str, Any]] = {}
        self.requested: list[str] = []
        self.results: list[dict[str, Any]] | None = None
        self.offer_idx = 0
        self.entity: dict[str, Any] = {}
        self.evidence: list[str] = []
        self.search_evidence: list[str] = []
        self.awaiting = False
        self.confirmed = False
        self.done = False
        self.calls = 0

    @property
    def intent(self) -> IntentDef:
        return self.sc.intents[self.intent_name or ""]

    # ------------------------------------------------------------------------- messages
    def state(self) -> dict[str, Any]:
        st: dict[str, Any] = {}
        if self.intent_name:
            st["active_intent"] = self.intent_name
        if self.slots:
            st["slots"] = dict(self.slots)
        if self.requested:
            st["requested_slots"] = list(self.requested)
        if self.domain:
            st["domain"] = self.domain
        if self.frames:
            st["frames"] = {d: dict(f) for d, f in self.frames.items()}
        return st

    def say(self, text: str, expected: str, acts: list[dict[str, Any]], **note: Any) -> None:
        msg = {"role": "assistant", "content": text, "state": self.state(), "acts": acts, "expected": expected}
        self.annotations.append({"message": len(self.messages), "expected": expected, **note})
        self.messages.append(msg)

    def call(self, name: str, args: dict[str, Any], sources: dict[str, str]) -> dict[str, Any]:
        self.calls += 1
        cid = f"call_{self.calls}"
        self.annotations.append({"message": len(self.messages), "expected": "call_tool", "tool": name,
                                 "call_id": cid, "arg_sources": sources})
        self.messages.append({
            "role": "assistant", "tool_calls": [{"id": cid, "name": name, "arguments": args}],
            "state": self.state(), "acts": [act("CALL_TOOL", None, [name])], "expected": "call_tool",
        })
        result = self.db.execute(name, args)
        self.messages.append({"role": "tool", "tool_call_id": cid, "name": name, "content": result})
        self.evidence = [cid]
        return result

    def _values(self) -> dict[str, Any]:
        return {**self.slots, **self.entity}

    def _pick(self, variants: list[str], values: dict[str, Any]) -> str:
        fits = [t for t in variants if fields(t) <= values.keys()]
        return self.nlg.pick(self.rng, fits or variants, values)

    # ----------------------------------------------------------------------------- turn
    def respond(self, u: UserTurn) -> SysAct:
        self.requested = list(u.requests)
        if u.kind == "aside":
            return self._refuse_aside(u)
        if u.kind == "bye":
            self.say(self.nlg.act(self.rng, "bye"), "bye", [act("GOODBYE")])
            return SysAct("bye")
        if u.intent and u.intent != self.intent_name:
            self._switch(u.intent)
        self._update(u.inform)
        if u.kind == "affirm" and self.awaiting:
            self.awaiting, self.confirmed = False, True
            for slot, col in self.intent.entity.items():
                if col in self.entity:
                    self.slots[slot] = self.entity[col]
        if u.requests:
            return self._answer(u.requests)
        return self._advance()

    def _switch(self, name: str) -> None:
        new = self.sc.intents[name]
        domain = new.domain or self.sc.domain
        if self.domain and domain != self.domain:
            self.frames[self.domain] = {k: v for k, v in (("active_intent", self.intent_name),
                                                          ("slots", dict(self.slots))) if v}
            self.slots = {}
        # Entities offered by the previous intent ("book it") are carried into the new one.
        prev = self.sc.intents[self.intent_name].entity if self.intent_name else {}
        for slot, col in prev.items():
            if slot in new.slots() and col in self.entity and slot not in self.slots:
                self.slots[slot] = self.entity[col]
        self.intent_name, self.domain = name, domain
        self.results, self.awaiting, self.confirmed, self.done = None, False, False, False

    def _update(self, inform: dict[str, Any]) -> None:
        changed = [s for s, v in inform.items() if self.slots.get(s) != v]
        self.slots.update(inform)
        if not changed or self.intent_name is None:
            return
        if set(changed) & set(search_args(self.intent, {s: 1 for s in self.intent.slots()})):
            self.results = None
        self.awaiting = self.confirmed = self.done = False

    def _refuse_aside(self, u: UserTurn) -> SysAct:
        aside = u.aside
        text = self.nlg.pick(self.rng, aside.assistant[self.nlg.lang], self._values())
        self.say(text, "refuse", [act("REFUSE", aside.kind)], reason=aside.kind)
        return SysAct("refuse")

    # -------------------------------------------------------------------------- actions
    def _advance(self) -> SysAct:
        intent = self.intent
        missing = [s for s in intent.required if s not in self.slots and s not in intent.entity]
        if missing and self.sc.policy.clarify:
            ask = missing[: self.sc.policy.max_ask]
            text = self.nlg.join([self.nlg.pick(self.rng, self.sc.slots[s].ask[self.nlg.lang]) for s in ask])
            self.say(text, "clarify", [act("REQUEST", s) for s in ask],
                     required=list(intent.required), missing=missing, asked=ask)
            return SysAct("request", ask)
        if intent.search and self.results is None:
            stop = self._search()
            if stop is not None:
                return stop
        tool = self.sc.tools.get(intent.tool or "")
        if tool is None:
            return self._offer()
        blocked = self._precheck(tool)
        if blocked is not None:
            return self._error(blocked)
        if tool.transactional and self.sc.policy.confirm and not self.confirmed:
            return self._confirm()
        return self._act()

    def _search(self) -> SysAct | None:
        intent = self.intent
        args = search_args(intent, self.slots)
        res = self.call(intent.search or "", args, {a: s for a, s in self._arg_slots(intent, True).items() if a in args})
        if "error" in res:
            return self._error(res)
        rows = res["results"] if "results" in res else [res]
        if not rows:
            values = {**self.slots, "criteria": self.nlg.join([str(v) for v in args.values()])}
            text = self._pick(intent.no_results.get(self.nlg.lang) or self.nlg.generic["no_results"], values)
            self.say(text, "inform", [act("NOTIFY_FAILURE"), act("REQ_ALTS")], evidence=list(self.evidence))
            return SysAct("no_results")
        self.results, self.offer_idx, self.entity = rows, 0, dict(rows[0])
        self.search_evidence = list(self.evidence)
        return None

    def _precheck(self, tool: ToolDef) -> dict[str, Any] | None:
        """A good agent does not offer what the record it just read rules out (a shipped
        order cannot be cancelled): the tool's own requirement, checked on the looked-up row."""
        for req in tool.impl.require:
            if req.column in self.entity and self.entity[req.column] not in req.values:
                return error(req.code, req.message.format(**self.entity))
        return None

    def _arg_slots(self, intent: IntentDef, search: bool) -> dict[str, str]:
        if search:
            return intent.search_args or {s: s for s in intent.slots() if s not in intent.entity}
        return intent.args or {s: s for s in intent.slots()}

    def _offer_acts(self) -> list[dict[str, Any]]:
        cols = list(self.intent.entity.values())[:2] or list(self.entity)[:1]
        return [act("OFFER", c, [self.entity[c]]) for c in cols if c in self.entity]

    def _offer(self) -> SysAct:
        text = self._pick(self.intent.offer[self.nlg.lang], self._values())
        acts = self._offer_acts()
        text, acts = self._maybe_more(text, acts)
        self.say(text, "inform", acts, evidence=list(self.evidence))
        self.done = True
        return SysAct("offer")

    def _confirm(self, prefix: str = "", **note: Any) -> SysAct:
        intent = self.intent
        values = self._values()
        tool = self.sc.tools[intent.tool or ""]
        if tool.impl.price and tool.impl.price in self.entity:
            qty = values.get(tool.impl.quantity or "", 1)
            values[tool.impl.total_field] = round(float(self.entity[tool.impl.price]) * qty, 2)
        parts = [prefix]
        if intent.search and intent.offer.get(self.nlg.lang):
            parts.append(self._pick(intent.offer[self.nlg.lang], values))
        parts.append(self._pick(intent.confirm[self.nlg.lang], values))
        args = tool_args(intent, {**self.slots, **{s: self.entity[c] for s, c in intent.entity.items() if c in self.entity}})
        acts = self._offer_acts() + [act("CONFIRM", a, [v]) for a, v in args.items()]
        self.say(self.nlg.join(parts), "confirm", acts, evidence=list(self.evidence), pending_call=intent.tool,
                 pending_args=args, **note)
        self.awaiting = True
        return SysAct("confirm")

    def _act(self) -> SysAct:
        intent = self.intent
        args = tool_args(intent, self.slots)
        sources = {a: s for a, s in self._arg_slots(intent, False).items() if a in args}
        res = self.call(intent.tool or "", args, sources)
        if "error" in res:
            return self._error(res)
        self.entity.update(res)
        values = self._values()
        for key, lf in intent.lists.items():
            items = [self.nlg.render(lf.item[self.nlg.lang], it) for it in res.get(lf.field, [])]
            values[key] = lf.sep.get(self.nlg.lang, "; ").join(items)
        text = self._pick(intent.inform[self.nlg.lang], values)
        tool = self.sc.tools[intent.tool or ""]
        acts = [act("NOTIFY_SUCCESS")] if tool.transactional else []
        said = _template_fields(intent.inform[self.nlg.lang])
        acts += [act("INFORM", k, [v]) for k, v in res.items() if isinstance(v, (str, int, float)) and k in said]
        text, acts = self._maybe_more(text, acts)
        self.say(text, "inform", acts, evidence=list(self.evidence))
        self.done = True
        return SysAct("done")

    def _maybe_more(self, text: str, acts: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
        if self.rng.random() < 0.5:
            return self.nlg.join([text, self.nlg.act(self.rng, "req_more")]), acts + [act("REQ_MORE")]
        return text, acts

    def _error(self, res: dict[str, Any]) -> SysAct:
        err = res["error"]
        spec = self.sc.errors.get(err["code"])
        values = {**self._values(), "message": err["message"]}
        if spec is None:
            self.say(err["message"], "inform", [act("NOTIFY_FAILURE", "error", [err["code"]])],
                     evidence=list(self.evidence), error=err["code"])
            return SysAct("failure")
        text = self._pick(spec.assistant[self.nlg.lang], values)
        if spec.recover == "next_result" and self.results and self.offer_idx + 1 < len(self.results):
            self.offer_idx += 1
            self.entity = dict(self.results[self.offer_idx])
            for slot in self.intent.entity:
                self.slots.pop(slot, None)
            self.confirmed = False
            # the alternative comes from the search, the reason from the failed call
            self.evidence = self.search_evidence + self.evidence
            return self._confirm(prefix=self.nlg.join([text, self.nlg.act(self.rng, "next_result")]),
                                 error=err["code"], recovery="next_result")
        kind = "REFUSE" if spec.expected == "refuse" else "NOTIFY_FAILURE"
        self.say(text, spec.expected, [act(kind, "error", [err["code"]])], evidence=list(self.evidence),
                 error=err["code"])
        return SysAct("failure")

    def _answer(self, requests: list[str]) -> SysAct:
        values = self._values()
        parts, acts = [], []
        for r in requests:
            spec = self.sc.requests[r]
            parts.append(self._pick(spec.answer[self.nlg.lang], values))
            if r in values:
                acts.append(act("INFORM", r, [values[r]]))
        self.say(self.nlg.join(parts), "answer", acts, evidence=list(self.evidence))
        return SysAct("answer")


def _template_fields(variants: list[str]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for t in variants:
        out |= fields(t)
    return out
