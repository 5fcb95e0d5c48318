"""Units of the server: the streaming splitter, request mapping, percentiles, shadow scores."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogkit.generate import parse_completion
from dialogkit.schema import AssistantMessage, ToolCall
from dialogkit.serve.engine import _cut_at_stop
from dialogkit.serve.loadtest import percentile
from dialogkit.serve.openai_io import APIError, ChatCompletionRequest, Limits, message_to_openai, to_chat_request
from dialogkit.serve.shadow import compare
from dialogkit.serve.streaming import DeltaSplitter

TEXTS = [
    "Hello there, how can I help?",
    "  <think> the user wants weather </think>\n\nLet me check. <tool_call>{\"name\": \"w\", \"arguments\": {\"city\": \"北京\"}}</tool_call>",
    "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\n<tool_call>{\"name\": \"b\", \"arguments\": {\"x\": 1}}</tool_call>",
    "before <tool_call>not json</tool_call> after",
    "text < with a lone angle <tool_ and more",
    "<think>unfinished reasoning",
    "答案是：北京今天晴。 <tool_call>{\"name\": \"w\", \"arguments\": {}}</tool_call> 还有别的吗？",
    "a <think>not at start</think> b",
]


def run_splitter(text: str, cuts: list[int], stop: list[str] | None = None) -> tuple[dict[str, str], AssistantMessage]:
    stop = stop or []
    splitter = DeltaSplitter(stop)
    got = {"reasoning": "", "content": ""}
    bounds = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    for a, b in zip(bounds, bounds[1:]):
        for kind, piece in splitter.feed(text[a:b]):
            got[kind] += piece
    final = parse_completion(_cut_at_stop(text, stop)[0])
    for kind, piece in splitter.finish(final):
        got[kind] += piece
    return got, final


@pytest.mark.parametrize("text", TEXTS)
def test_streamed_deltas_equal_the_parsed_message_char_by_char(text):
    got, final = run_splitter(text, list(range(len(text))))
    assert got["content"] == final.content
    if final.reasoning:
        assert got["reasoning"] == final.reasoning


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(TEXTS), st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_streamed_deltas_equal_the_parsed_message_any_split(text, cuts):
    got, final = run_splitter(text, cuts)
    assert got["content"] == final.content


def test_no_content_is_streamed_from_inside_a_tool_call():
    splitter = DeltaSplitter()
    seen = []
    for ch in 'Checking. <tool_call>{"name": "w", "arguments": {}}</tool_call>':
        seen += [p for k, p in splitter.feed(ch) if k == "content"]
    assert "".join(seen) == "Checking."
    assert not any("<" in p or "{" in p for p in seen)


def test_stop_string_is_never_streamed():
    got, final = run_splitter("one two STOP three", list(range(20)), stop=["STOP"])
    assert got["content"] == final.content == "one two"
    splitter = DeltaSplitter(["STOP"])
    pieces = [p for ch in "ab ST" for _, p in splitter.feed(ch)]
    assert "".join(pieces) == "ab"  # "ST" may start the stop string: held back


def test_request_mapping_defaults_and_limits():
    req = ChatCompletionRequest.model_validate({"messages": [{"role": "developer", "content": "be brief"},
                                                             {"role": "user", "content": "hi"}], "seed": 5})
    chat, config, stop = to_chat_request(req, Limits(default_max_tokens=64, default_temperature=0.0))
    assert [m.role for m in chat.messages] == ["system", "user"]
    assert config.max_new_tokens == 64 and config.temperature == 0.0 and config.seed == 5 and stop == []
    with pytest.raises(APIError) as e:
        to_chat_request(ChatCompletionRequest.model_validate(
            {"messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]}), Limits())
    assert e.value.status == 400 and e.value.param == "stop"


def test_message_to_openai_gives_fresh_call_ids():
    msg = AssistantMessage(role="assistant", tool_calls=[ToolCall(id="call_0", name="f", arguments={"a": 1})])
    a, b = message_to_openai(msg), message_to_openai(msg)
    assert a["content"] is None and a["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"a": 1}'}
    assert a["tool_calls"][0]["id"] != b["tool_calls"][0]["id"]


def test_percentile_matches_numpy_linear():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 90) == pytest.approx(7.6)
    assert percentile(values, 100) == 10.0 and percentile([], 50) is None


def test_compare_scores():
    a = AssistantMessage(role="assistant", content="", tool_calls=[ToolCall(id="1", name="f", arguments={"x": 1})])
    b = AssistantMessage(role="assistant", content="", tool_calls=[ToolCall(id="2", name="f", arguments={"x": 2})])
    s = compare(a, b)
    assert s == {"tool_calls_match": False, "tool_names_match": True}
    t = compare(AssistantMessage(role="assistant", content="the same"), AssistantMessage(role="assistant", content="the same"))
    assert t["content_chrf"] == 1.0 and t["tool_calls_match"] is True
