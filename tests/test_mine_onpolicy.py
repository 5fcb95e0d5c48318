"""On-policy mining with a fake in-process backend, a fake judge, and the OpenAI backend on a local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialogkit.mine import MineConfig, mine_file
from dialogkit.mine.onpolicy import OnPolicyConfig
from dialogkit.schema import AssistantMessage, ToolCall
from dialogkit.score.base import Item

ASSETS = Path(__file__).parent / "assets" / "mine"
DIALOGS = ASSETS / "dialogs.jsonl"
GOOD_CALL = ToolCall(
    id="x", name="get_weather", arguments={"city": "Paris", "date": "2025-05-12", "unit": "celsius"}
)
WRONG_CALL = ToolCall(
    id="x", name="get_weather", arguments={"city": "Paris", "date": "2025-05-13", "unit": "celsius"}
)


def msg(content: str = "", calls: list[ToolCall] | None = None, reasoning: str | None = None) -> AssistantMessage:
    return AssistantMessage(role="assistant", content=content, tool_calls=calls or [], reasoning=reasoning)


class FakeBackend:
    """Canned samples keyed by the last user message of the request."""

    name = "fake"

    def __init__(self, table):
        self.table = table
        self.calls = []

    def generate(self, requests, config):
        self.calls.append((len(requests), config.n, config.seed))
        out = []
        for r in requests:
            last = next((m.content for m in reversed(r.messages) if m.role == "user"), "")
            cands = self.table(last, r)
            out.append(cands[: config.n])
        return out


def weather_table(last, request):
    if request.messages[-1].role == "tool":
        return [
            msg("It will be sunny, 21 degrees."),
            msg("It will be sunny, 25 degrees."),
            msg("It will be sunny, 21 degrees."),
            msg("It will be sunny, 21 degrees."),
        ]
    if "Paris" in last:
        return [
            msg(calls=[WRONG_CALL]),
            msg(calls=[GOOD_CALL]),
            msg("It is sunny in Paris."),
            msg(calls=[GOOD_CALL]),
        ]
    return [msg("Goodbye!"), msg("Goodbye!"), msg("Goodbye!"), msg("Goodbye!")]


def run(tmp_path, backend, judge=None, **opts):
    out = tmp_path / "op.jsonl"
    stats = tmp_path / "op.stats.json"
    cfg = MineConfig(strategies=[], onpolicy=OnPolicyConfig(k=4, **opts))
    report = mine_file(DIALOGS, out, cfg, stats_path=stats, backend=backend, judge=judge)
    pairs = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    return report, pairs, json.loads(stats.read_text())


def test_best_sample_against_the_hardest_clearly_worse_one(tmp_path):
    backend = FakeBackend(weather_table)
    _, pairs, stats = run(tmp_path, backend, labels=["call_tool", "inform", "bye"])
    call_pair = next(p for p in pairs if p["id"] == "en-weather-1:2:on_policy")
    assert call_pair["chosen"][0]["tool_calls"][0]["arguments"]["date"] == "2025-05-12"
    # Hardest: the wrong date (fails the tool checks only), not the text reply (also fails behaviour).
    assert call_pair["rejected"][0]["tool_calls"][0]["arguments"]["date"] == "2025-05-13"
    meta = call_pair["metadata"]
    assert meta["method"] == "on_policy" and meta["chosen_source"] == "policy" and meta["samples"] == 3
    assert "tools.tool_call_accuracy" in {v["metric"] for v in meta["verified_by"]}
    fact = next(p for p in pairs if p["id"] == "en-weather-1:4:on_policy")
    assert "25" in fact["rejected"][0]["content"] and "21" in fact["chosen"][0]["content"]
    assert "groundedness.grounded_rate" in {v["metric"] for v in fact["metadata"]["verified_by"]}
    # All goodbyes are the same sample: nothing to compare, dropped.
    assert not any(p["id"].endswith(":6:on_policy") for p in pairs)
    assert stats["drops"]["on_policy"]["TOO_FEW_CANDIDATES"] >= 1
    assert backend.calls[0][1] == 4


def test_pick_worst_and_prompt_is_the_exact_history(tmp_path):
    _, pairs, _ = run(tmp_path, FakeBackend(weather_table), labels=["call_tool"], pick_rejected="worst")
    p = next(p for p in pairs if p["id"] == "en-weather-1:2:on_policy")
    assert p["rejected"][0]["content"] == "It is sunny in Paris."
    src = json.loads(DIALOGS.read_text(encoding="utf-8").splitlines()[0])
    assert p["prompt"] == src["messages"][:2]


def test_gold_fallback_when_every_sample_fails(tmp_path):
    def table(last, request):
        if request.messages[-1].role == "user" and "Paris" in last:
            return [msg(calls=[WRONG_CALL]), msg("I think it is sunny.")]
        return [msg("x")]

    _, pairs, _ = run(tmp_path, FakeBackend(table), labels=["call_tool"])
    p = next(p for p in pairs if p["id"] == "en-weather-1:2:on_policy")
    assert p["metadata"]["chosen_source"] == "reference"
    assert p["chosen"][0]["tool_calls"][0]["id"] == "c1"  # the gold turn
    _, pairs, _ = run(tmp_path, FakeBackend(table), labels=["call_tool"], gold_fallback=False)
    p = next(p for p in pairs if p["id"] == "en-weather-1:2:on_policy")
    assert p["metadata"]["chosen_source"] == "policy"  # less bad beats worse, still a preference


class FakeJudge:
    """Prefers shorter replies: 5 for the shortest text, 1 otherwise."""

    def score(self, pred, ref):
        text = pred.messages[-1].content
        return [Item(ref.id, None, {"user_satisfaction": [5.0 if len(text) < 20 else 1.0, 1.0]})]


def test_judge_breaks_ties_between_equally_clean_samples(tmp_path):
    def table(last, request):
        if "Bye" in last:
            return [msg("Goodbye, see you!"), msg("Goodbye, have a truly wonderful day!")]
        return [msg("x")]

    _, pairs, stats = run(tmp_path, FakeBackend(table), labels=["bye"])
    assert pairs == [] and stats["drops"]["on_policy"]["TIE"] == 2  # both clean: a tie without a judge
    _, pairs, _ = run(tmp_path, FakeBackend(table), judge=FakeJudge(), labels=["bye"])
    p = next(p for p in pairs if p["id"] == "en-weather-1:6:on_policy")
    assert p["chosen"][0]["content"] == "Goodbye, see you!"
    assert p["metadata"]["verified_by"][0]["metric"] == "judge.user_satisfaction"
    assert p["metadata"]["scores"]["chosen"]["judge"] == 5.0


def test_length_match_drops_on_policy_pairs(tmp_path):
    def table(last, request):
        if request.messages[-1].role == "tool" and "Paris" in json.dumps(request.messages[-1].content):
            return [
                msg("Sunny, 21."),
                msg("Sunny with a high of 25 degrees, and " + "very " * 30 + "pleasant."),
            ]
        return [msg("x")]

    cfg = MineConfig(strategies=[], length_match=1.5, onpolicy=OnPolicyConfig(k=2, labels=["inform"]))
    out = tmp_path / "lm.jsonl"
    report = mine_file(DIALOGS, out, cfg, backend=FakeBackend(table))
    assert report.stats.drops[("on_policy", "LENGTH_MISMATCH")] >= 1
    assert not any(json.loads(x)["id"] == "en-weather-1:4:on_policy" for x in out.read_text().splitlines())


def test_a_failing_policy_is_counted_not_fatal(tmp_path):
    class Broken:
        name = "broken"

        def generate(self, requests, config):
            raise ConnectionError("endpoint down")

    cfg = MineConfig(strategies=["verbose"], onpolicy=OnPolicyConfig(k=2))
    report = mine_file(DIALOGS, tmp_path / "b.jsonl", cfg, backend=Broken())
    assert report.stats.drops[("on_policy", "POLICY_ERROR")] == 17
    assert report.stats.pairs["verbose"] > 0
    assert "endpoint down" in report.stats.errors["on_policy"]

    class Short:
        name = "short"

        def generate(self, requests, config):
            return [[msg("x"), msg("y")]]  # one result for a whole batch: nothing can be trusted

    report = mine_file(DIALOGS, tmp_path / "c.jsonl", cfg, backend=Short())
    assert report.stats.drops[("on_policy", "POLICY_ERROR")] == 16  # the batch of 16; the last batch has 1 turn


# ------------------------------------------------------------------ OpenAI backend, local server
def _weather_reply(body):
    """Two calls that differ in the date for the Paris question, "OK." otherwise."""
    last = body["messages"][-1]
    if last["role"] == "user" and "Paris" in last["content"]:
        return [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "type": "function",
                        "id": "a",
                        "function": {
                            "name": "get_weather",
                            "arguments": json.dumps({"city": "Paris", "date": d, "unit": "celsius"}),
                        },
                    }
                ],
            }
            for d in ("2025-05-12", "2025-05-14")
        ]
    return [{"role": "assistant", "content": "OK."}] * body.get("n", 1)


@pytest.fixture()
def fake_openai():
    from fakes import CannedOpenAI

    with CannedOpenAI(_weather_reply) as srv:
        yield srv


def test_cli_on_policy_with_the_openai_backend(tmp_path, run_cli, fake_openai, monkeypatch):
    pytest.importorskip("openai")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    url = fake_openai.url
    out = tmp_path / "op.jsonl"
    res = run_cli(
        "mine",
        DIALOGS,
        "--out",
        out,
        "--strategies",
        "none",
        "--policy",
        "openai:tiny",
        "--policy-base-url",
        url,
        "--k",
        "2",
        "--labels",
        "call_tool",
    )
    assert res.exit_code == 0, res.output
    pairs = [json.loads(x) for x in out.read_text().splitlines()]
    p = next(p for p in pairs if p["id"] == "en-weather-1:2:on_policy")
    assert p["chosen"][0]["tool_calls"][0]["arguments"]["date"] == "2025-05-12"
    assert p["rejected"][0]["tool_calls"][0]["arguments"]["date"] == "2025-05-14"
    req = next(r for r in fake_openai.requests if "Paris" in r["messages"][-1].get("content") or "")
    assert req["model"] == "tiny" and req["n"] == 2 and req["tools"][0]["function"]["name"] == "get_weather"


# ----------------------------------------------------------------------- minimal-edit chosen
def _turn(reasoning, calls=(), content=""):
    return msg(content, list(calls), reasoning)


def test_minimal_edit_fixes_only_the_wrong_values():
    from dialogkit.mine.minimal_edit import minimal_edit

    rejected = _turn("state restaurant: book_table; people=5; day=friday; time=19:00",
                     [ToolCall(id="s1", name="book_table", arguments={"people": 5, "day": "friday", "time": "19:00"})])
    chosen = _turn("state restaurant: book_table; people=4; day=friday; time=19:00",
                   [ToolCall(id="g1", name="book_table", arguments={"time": "19:00", "day": "friday", "people": 4})])
    edited = minimal_edit(rejected, chosen)
    assert edited.reasoning == "state restaurant: book_table; people=4; day=friday; time=19:00"
    # the sample's own call id and argument order; only the value differs from the rejected
    assert edited.tool_calls[0].id == "s1"
    assert list(edited.tool_calls[0].arguments.items()) == [("people", 4), ("day", "friday"), ("time", "19:00")]
    # swapped values are fixed in one pass
    swapped = _turn("state train: find; from=B; to=A", [ToolCall(id="s", name="find", arguments={"from": "B", "to": "A"})])
    right = _turn("state train: find; from=A; to=B", [ToolCall(id="g", name="find", arguments={"from": "A", "to": "B"})])
    fixed = minimal_edit(swapped, right)
    assert fixed.reasoning == "state train: find; from=A; to=B" and fixed.tool_calls[0].arguments == {"from": "A", "to": "B"}


def test_minimal_edit_corrects_a_wrong_value_the_text_repeats():
    from dialogkit.mine.minimal_edit import minimal_edit

    rejected = _turn("state restaurant: book_table; people=5; day=friday", content="Shall I book a table for 5 on friday?")
    chosen = _turn("state restaurant: book_table; people=4; day=friday", content="Do you want a table for 4?")
    edited = minimal_edit(rejected, chosen)
    assert edited.content == "Shall I book a table for 4 on friday?"  # the sample's own words
    # a sample that carries its parsed belief gets the corrected one
    from dialogkit.generate.state_text import parse_state

    with_state = rejected.model_copy(update={"state": parse_state(rejected.reasoning)})
    assert minimal_edit(with_state, chosen).state.slots == {"people": 4, "day": "friday"}
    assert edited.reasoning == "state restaurant: book_table; people=4; day=friday"
    # the same belief and another text (answering instead of asking) is not a value mistake
    assert minimal_edit(_turn(chosen.reasoning, content="Booked!"), chosen) is None
    # a wrong value that occurs twice in the text cannot be fixed by one edit
    twice = _turn(rejected.reasoning, content="For 5? Yes, 5.")
    assert minimal_edit(twice, chosen) is None


@pytest.mark.parametrize("rejected", [
    _turn("state restaurant: book_table; people=5", content="Booked!"),  # different text
    _turn("state restaurant: book_table; people=5; day=friday"),  # a slot the chosen lacks
    _turn("state restaurant: find; people=5"),  # another intent
    _turn("state restaurant: book_table; people=4", [ToolCall(id="s", name="find", arguments={"people": 4})]),
    _turn("state restaurant: book_table; people=4", [ToolCall(id="s", name="book_table", arguments={"n": 4})]),
    _turn("state restaurant: book_table; people=4", [ToolCall(id="s", name="book_table", arguments={"people": 4})]),  # no error
    _turn("I think 4 people", [ToolCall(id="s", name="book_table", arguments={"people": 5})]),  # not a state line
])
def test_minimal_edit_declines_turns_that_differ_in_more_than_values(rejected):
    from dialogkit.mine.minimal_edit import minimal_edit

    chosen = _turn("state restaurant: book_table; people=4", [ToolCall(id="g", name="book_table", arguments={"people": 4})])
    if rejected.reasoning.startswith("I think"):
        chosen = chosen.model_copy(update={"reasoning": "state restaurant: book_table; people=4"})
    assert minimal_edit(rejected, chosen) is None


def test_edit_chosen_pairs_the_sample_with_itself_corrected(tmp_path):
    def table(last, request):
        if request.messages[-1].role == "user" and "Paris" in last:
            return [msg(calls=[WRONG_CALL]), msg("I think it is sunny.")]
        return [msg("x")]

    _, pairs, _ = run(tmp_path, FakeBackend(table), labels=["call_tool"], edit_chosen=True)
    p = next(p for p in pairs if p["id"] == "en-weather-1:2:on_policy")
    assert p["metadata"]["chosen_source"] == "edited"
    chosen, rejected = p["chosen"][0]["tool_calls"][0], p["rejected"][0]["tool_calls"][0]
    assert chosen["id"] == rejected["id"] == "x"  # the sample's call, not the gold turn's "c1"
    assert chosen["arguments"]["date"] == "2025-05-12" and rejected["arguments"]["date"] == "2025-05-13"
    assert {k: v for k, v in chosen["arguments"].items() if k != "date"} == {k: v for k, v in rejected["arguments"].items() if k != "date"}
    assert "tools.tool_call_accuracy" in {v["metric"] for v in p["metadata"]["verified_by"]}
    # without the option the gold turn is the chosen
    _, pairs, _ = run(tmp_path, FakeBackend(table), labels=["call_tool"])
    p = next(p for p in pairs if p["id"] == "en-weather-1:2:on_policy")
    assert p["metadata"]["chosen_source"] == "reference"
