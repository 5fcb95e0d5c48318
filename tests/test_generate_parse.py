"""Model text → assistant message: reasoning, Hermes-style tool calls, broken JSON kept visible."""

from __future__ import annotations

from dialogkit.generate.parse import parse_completion


def test_plain_reply():
    m = parse_completion("  二等座154元。 ")
    assert m.content == "二等座154元。" and m.tool_calls == [] and m.reasoning is None


def test_tool_calls_and_reasoning():
    text = (
        "<think>need the fare</think>\n"
        '<tool_call>\n{"name": "get_fare", "arguments": {"from": "重庆", "to": "成都"}}\n</tool_call>\n'
        '<tool_call>{"name": "search", "arguments": "{\\"q\\": 1}"}</tool_call>'
    )
    m = parse_completion(text)
    assert m.reasoning == "need the fare"
    assert [(c.id, c.name, c.arguments) for c in m.tool_calls] == [
        ("call_0", "get_fare", {"from": "重庆", "to": "成都"}),
        ("call_1", "search", {"q": 1}),
    ]
    assert m.content == ""


def test_broken_tool_call_stays_in_content():
    text = 'ok <tool_call>{"name": "f", "arguments": {"a": }</tool_call>'
    m = parse_completion(text)
    assert m.tool_calls == []
    assert "<tool_call>" in m.content and '"a": }' in m.content


def test_call_without_name_or_with_non_object_args_is_not_a_call():
    assert parse_completion('<tool_call>{"arguments": {}}</tool_call>').tool_calls == []
    assert parse_completion('<tool_call>{"name": "f", "arguments": [1]}</tool_call>').tool_calls == []


def test_openai_response_message_to_assistant():
    from dialogkit.generate.openai_backend import to_assistant

    m = to_assistant({
        "content": None,
        "tool_calls": [
            {"id": "c9", "type": "function", "function": {"name": "book", "arguments": '{"n": 2}'}},
            {"id": "c10", "type": "function", "function": {"name": "book", "arguments": '{"n": '}},
        ],
    })
    assert [(c.id, c.arguments) for c in m.tool_calls] == [("c9", {"n": 2})]
    assert m.content == '<tool_call>{"name": "book", "arguments": {"n": }</tool_call>'
