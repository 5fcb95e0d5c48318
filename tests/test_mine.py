"""Rule-based mining: value edits, each strategy's negatives, verification and drops, determinism."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema
import pytest

from dialogkit.mine import MineConfig, mine_file
from dialogkit.mine.corpus import Corpus
from dialogkit.mine.rules import RuleMiner
from dialogkit.mine.runner import iter_dialogs, resolve_strategies, turns
from dialogkit.mine.stats import MineStats
from dialogkit.mine.strategies import STRATEGIES
from dialogkit.mine.strategies.base import Negative, Strategy, rejected_turn, retell
from dialogkit.mine.strategies.values import date_shifts, enum_neighbours, number_shifts
from dialogkit.mine.verify import Verifier, failed, separating
from dialogkit.records import parse_pair

ASSETS = Path(__file__).parent / "assets" / "mine"
DIALOGS = ASSETS / "dialogs.jsonl"
# Synthesized dialogs whose assistant turns write their state in the reasoning (synth + demo form).
STATE_DIALOGS = ASSETS / "state_dialogs.jsonl"


@pytest.fixture(scope="module")
def loaded():
    corpus, dialogs = Corpus(), {}
    for d, _ in iter_dialogs(DIALOGS, "dialogkit"):
        corpus.add(d)
        dialogs[d.id] = d
    return corpus, dialogs


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    out = tmp_path_factory.mktemp("mine") / "pairs.jsonl"
    report = mine_file(DIALOGS, out, MineConfig(seed=0))
    pairs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return report, pairs


def by_id(pairs, pid):
    return next(p for p in pairs if p["id"] == pid)


# ------------------------------------------------------------------------------------ value edits
def test_date_shifts_keep_the_format():
    assert date_shifts("2025-05-12") == [("date_shift", "2025-05-13"), ("date_shift", "2025-05-11")]
    assert date_shifts("2024-12-31")[0] == ("date_shift", "2025-01-01")
    assert date_shifts("1月31日") == [("date_shift", "2月1日"), ("date_shift", "1月30日")]
    assert date_shifts("3月1日")[1] == ("date_shift", "2月28日")
    assert date_shifts("Friday") == [("date_shift", "Saturday"), ("date_shift", "Thursday")]
    assert date_shifts("周日")[0] == ("date_shift", "周一")
    assert date_shifts("23:30")[0] == ("time_shift", "00:30")
    assert date_shifts("Paris") == [] and date_shifts("2025-02-30") == []


def test_number_and_enum_edits_respect_the_schema():
    assert number_shifts(1, {"minimum": 1, "maximum": 5}) == [("number_shift", 2)]
    assert number_shifts(5, {"maximum": 5}) == [("number_shift", 4)]
    assert number_shifts(True, {}) == []
    assert enum_neighbours("b", {"enum": ["a", "b", "c"]}) == [
        ("enum_neighbour", "c"),
        ("enum_neighbour", "a"),
    ]
    assert enum_neighbours("x", {"enum": ["a"]}) == []


# --------------------------------------------------------------------------------- each strategy
def test_every_builtin_strategy_yields_verified_pairs_on_the_fixtures(mined, tmp_path):
    report, pairs = mined
    assert report.issues == []
    out = tmp_path / "state_pairs.jsonl"
    assert mine_file(STATE_DIALOGS, out, MineConfig(seed=0)).issues == []
    pairs = pairs + [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    types = {p["metadata"]["negative_type"] for p in pairs}
    assert types == set(STRATEGIES.names())
    for p in pairs:
        parse_pair(p)  # every line is a valid PreferencePair
        assert p["metadata"]["verified_by"], p["id"]
        assert p["chosen"] != p["rejected"]


def test_pairs_hold_the_exact_history_and_the_gold_turn(mined, loaded):
    _, dialogs = loaded
    _, pairs = mined
    for p in pairs:
        src = json.loads(dialogs[p["metadata"]["source_id"]].model_dump_json(exclude_defaults=True))
        turn = p["metadata"]["turn"]
        assert p["prompt"] == src["messages"][:turn]
        assert p["chosen"] == [src["messages"][turn]]
        assert len(p["rejected"]) == 1 and p["rejected"][0]["role"] == "assistant"
        assert p.get("tools", []) == src.get("tools", [])


def test_wrong_tool_args_changes_exactly_one_argument_to_a_schema_valid_value(mined, loaded):
    _, dialogs = loaded
    _, pairs = mined
    wrong = [p for p in pairs if p["metadata"]["negative_type"] == "wrong_tool_args"]
    assert len(wrong) == 5
    kinds = set()
    for p in wrong:
        c, r = p["chosen"][0]["tool_calls"][0], p["rejected"][0]["tool_calls"][0]
        assert (c["id"], c["name"]) == (r["id"], r["name"])
        changed = {k for k in c["arguments"] if c["arguments"][k] != r["arguments"].get(k)}
        edit = p["metadata"]["edit"]
        kinds.add(edit["kind"])
        assert len(changed) == (2 if edit["kind"] == "swap" else 1)
        params = next(t["function"]["parameters"] for t in p["tools"] if t["function"]["name"] == c["name"])
        jsonschema.validate(r["arguments"], params)
        assert p["metadata"]["verified_by"][0]["metric"] == "tools.tool_call_accuracy"
        assert p["metadata"]["verified_by"][0]["rejected"]["passed"] is False
    assert kinds & {"enum_neighbour", "date_shift", "other_entity", "number_shift", "swap"}


def test_retell_replaces_each_value_once_or_not_at_all():
    state = "state restaurant: book; restaurant=Cotto; day=Saturday; people=2; time=12:00"
    assert retell(state, {"Saturday": "Sunday"}) == state.replace("Saturday", "Sunday")
    assert retell(state, {2: 3}) == state.replace("people=2", "people=3")  # not the 2 of 12:00
    assert retell(state, {"Cotto": "Saturday", "Saturday": "Cotto"}) == (
        "state restaurant: book; restaurant=Saturday; day=Cotto; people=2; time=12:00"
    )
    assert retell("去北京的高铁", {"北京": "上海"}) == "去上海的高铁"
    assert retell("2 adults, 2 children", {2: 3}) is None  # ambiguous: which one?
    assert retell(state, {"Monday": "Friday"}) is None and retell(None, {"a": "b"}) is None


def test_wrong_state_changes_one_believed_value_and_keeps_the_action(tmp_path):
    out = tmp_path / "pairs.jsonl"
    report = mine_file(STATE_DIALOGS, out, MineConfig(seed=0, strategies=["wrong_state"]))
    pairs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(pairs) >= 10 and report.stats.pairs == {"wrong_state": len(pairs)}
    for p in pairs:
        chosen, rejected, edit = p["chosen"][0], p["rejected"][0], p["metadata"]["edit"]
        assert (chosen.get("content", ""), chosen.get("tool_calls", [])) == (
            rejected.get("content", ""), rejected.get("tool_calls", []))
        assert f"{edit['slot']}={edit['from']}" in chosen["reasoning"]
        assert rejected["reasoning"] == chosen["reasoning"].replace(f"={edit['from']}", f"={edit['to']}")
        check = p["metadata"]["verified_by"][0]
        assert check["metric"] == "state.belief_match" and check["rejected"]["passed"] is False
        assert check["chosen"]["passed"] is True


def test_belief_match_reads_the_state_line_of_the_reasoning_only():
    d = next(iter_dialogs(STATE_DIALOGS, "dialogkit"))[0]
    i = next(k for k, m in enumerate(d.messages) if m.role == "assistant" and m.state and m.state.slots)
    gold = d.messages[i]
    slot, value = next(iter(gold.state.slots.items()))
    verifier = Verifier()
    assert verifier.evaluate(d, i, gold)["state.belief_match"].passed
    wrong = gold.model_copy(update={"reasoning": gold.reasoning.replace(f"{slot}={value}", f"{slot}=zzz")})
    outcomes = verifier.evaluate(d, i, wrong)
    assert not outcomes["state.belief_match"].passed
    # soft: it verifies wrong_state negatives, but on-policy ranking (hard checks) ignores it
    assert "state.belief_match" not in failed(outcomes) and "state.belief_match" in failed(outcomes, soft=True)
    free = gold.model_copy(update={"reasoning": "The user wants a table."})  # no state line: no check
    assert "state.belief_match" not in verifier.evaluate(d, i, free)


def test_specific_negatives_on_the_fixtures(mined):
    _, pairs = mined
    clar = by_id(pairs, "en-book-1:1:skipped_clarification")
    assert (
        clar["rejected"][0]["tool_calls"][0]["arguments"]["people"] == 4
    )  # values the user had not given yet
    assert clar["metadata"]["edit"]["kind"] == "premature_call"
    hall = by_id(pairs, "en-weather-1:4:hallucination")
    assert "21" not in hall["rejected"][0]["content"] and "Paris" in hall["rejected"][0]["content"]
    missed = by_id(pairs, "en-book-1:7:missed_refusal")
    assert "behaviour.refusal_accuracy" in {v["metric"] for v in missed["metadata"]["verified_by"]}
    broken = by_id(pairs, "zh-json-1:2:broken_json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken["rejected"][0]["content"])
    call_json = by_id(pairs, "zh-train-1:1:broken_json")
    assert call_json["rejected"][0]["content"].startswith("<tool_call>")
    assert "tool_calls" not in call_json["rejected"][0]
    missing = by_id(pairs, "zh-train-1:1:missing_tool_call")
    assert missing["rejected"][0]["content"].startswith("为您找到G2次列车")
    verbose = by_id(pairs, "en-weather-1:4:verbose")
    assert verbose["chosen"][0]["content"] in verbose["rejected"][0]["content"]


def test_gold_turns_pass_every_hard_check(loaded):
    corpus, dialogs = loaded
    v = Verifier()
    for d in dialogs.values():
        for ctx in turns(d, corpus):
            assert failed(v.evaluate(d, ctx.index, ctx.message)) == [], (d.id, ctx.index)


def test_separating_needs_the_chosen_to_pass():
    from dialogkit.mine.verify import Outcome

    bad, good = Outcome(0.0, False), Outcome(1.0, True)
    assert separating({"m": good}, {"m": bad}) == ["m"]
    assert separating({}, {"m": bad}) == ["m"]  # nothing to get wrong on the chosen side
    assert separating({"m": bad}, {"m": bad}) == []
    assert separating({"m": good}, {"m": bad, "n": bad}, ("n",)) == ["n"]


# ------------------------------------------------------------------------------------ drops
class _Noop(Strategy):
    name = "noop"
    targets = ("tools.tool_call_accuracy",)

    def propose(self, ctx, rng):
        return Negative(rejected_turn(ctx.message, ctx.message.content + " ", ctx.message.tool_calls))


class _Boom(Strategy):
    name = "boom"

    def propose(self, ctx, rng):
        raise RuntimeError("plugin bug")


class _Invalid(Strategy):
    """Wrong arguments that break the schema: must be dropped, not kept as an easy negative."""

    name = "invalid_args"
    targets = ("tools.tool_call_accuracy",)
    must_pass = ("structured.schema_valid_rate",)

    def propose(self, ctx, rng):
        if not ctx.message.tool_calls:
            return None
        call = ctx.message.tool_calls[0].model_copy(update={"arguments": {"bogus": 1}})
        return Negative(rejected_turn(ctx.message, "", [call]))


def test_unverified_invalid_and_crashing_proposals_are_dropped_and_counted(loaded):
    corpus, dialogs = loaded
    stats = MineStats()
    miner = RuleMiner([_Noop(), _Boom(), _Invalid()], Verifier(), stats)
    pairs = [p for d in dialogs.values() for ctx in turns(d, corpus) for p in miner.mine_turn(ctx, {})]
    assert pairs == []
    assert stats.drops[("noop", "NOT_VERIFIED")] > 0
    assert stats.drops[("invalid_args", "BREAKS_MUST_PASS")] == 5
    assert stats.drops[("boom", "STRATEGY_ERROR")] == 17
    assert "plugin bug" in stats.errors["boom"]


def test_length_match_and_turn_cap(tmp_path):
    out = tmp_path / "p.jsonl"
    stats = tmp_path / "s.json"
    report = mine_file(DIALOGS, out, MineConfig(length_match=1.5, max_per_turn=2), stats_path=stats)
    s = json.loads(stats.read_text())
    assert "verbose" not in s["pairs_by_type"]
    assert s["drops"]["verbose"]["LENGTH_MISMATCH"] == 8
    assert sum(n for d in s["drops"].values() for r, n in d.items() if r == "OVER_TURN_CAP") > 0
    per_turn: dict[tuple[str, int], int] = {}
    for line in out.read_text().splitlines():
        p = json.loads(line)
        key = (p["metadata"]["source_id"], p["metadata"]["turn"])
        per_turn[key] = per_turn.get(key, 0) + 1
    assert max(per_turn.values()) == 2
    assert report.pairs == sum(per_turn.values()) == s["pairs"]
    assert 0 <= s["length"]["chosen_longer"] <= 1 and "by_type" in s["length"]


def test_same_seed_same_bytes_other_seed_other_choices(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    mine_file(DIALOGS, a, MineConfig(seed=3))
    mine_file(DIALOGS, b, MineConfig(seed=3))
    mine_file(DIALOGS, c, MineConfig(seed=4))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_strategy_selection_and_unknown_names():
    from dialogkit.errors import UsageError

    assert [s.name for s in resolve_strategies(["verbose", "verbose", "off_topic"])] == [
        "verbose",
        "off_topic",
    ]
    with pytest.raises(UsageError, match="Did you mean: wrong_tool_args"):
        resolve_strategies(["wrong_args"])


def test_rng_is_independent_of_strategy_order():
    from dialogkit.mine.strategies.base import rng_for

    assert rng_for(0, "d", 2, "x").random() == rng_for(0, "d", 2, "x").random()
    assert rng_for(0, "d", 2, "x").random() != rng_for(0, "d", 2, "y").random()
    assert isinstance(rng_for(1, "a"), random.Random)
