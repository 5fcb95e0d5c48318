"""Many varied dialogs for prepare/inspect tests (deterministic by seed).

Covers what chat templates branch on: system prompt or none, tools or none, tool calls
(parallel ones too) with their results (JSON and text), reasoning, Chinese and English,
multi-step tool use, long dialogs, and tool arguments whose keys differ between calls
(the Arrow null trap).
"""

from __future__ import annotations

import random
from typing import Any

ZH_USER = ["帮我订明天中午上海到北京的高铁。", "查下明早重庆到成都票价。", "有没有靠近解放碑的酒店？", "改成后天下午可以吗？",
           "谢谢，就这样吧。", "小朋友喜欢科技馆，想吃特色美食。"]
EN_USER = ["I need a cheap restaurant in the centre.", "Book a table for 4 at 19:00 on Friday.",
           "What is the phone number?", "Can you find me a train to Cambridge on Sunday?", "That is all, thanks.",
           "  leading spaces and trailing newline\n"]
ZH_ASSIST = ["收到，我先问几个偏好：更倾向博物馆还是自然？", "第1天：上午科技馆… 晚餐：火锅…\n第2天：…", "最低128元，平均156元。"]
EN_ASSIST = ["Sure, which day would you like to book for?", "I have booked it. Your reference number is 8XJ2KQ1.",
             "The phone number is 01223 356555. Anything else?", "There are 5 trains on Sunday."]
REASONING = ["The user wants a fare; I should call the tool.", "用户想订票，需要先查询。", "Summarize the results briefly."]

TOOLS = [
    {"type": "function", "function": {"name": "get_fare", "description": "train fare lookup", "parameters": {
        "type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                                         "date": {"type": "string"}}, "required": ["from", "to"]}}},
    {"type": "function", "function": {"name": "find_hotel", "description": "酒店搜索", "parameters": {
        "type": "object", "properties": {"area": {"type": "string"}, "stars": {"type": "integer"}}}}},
]


def _call(rng: random.Random, cid: str) -> dict[str, Any]:
    if rng.random() < 0.5:
        args: dict[str, Any] = {"from": "重庆", "to": "成都"}
        if rng.random() < 0.5:
            args["date"] = "2025-10-20"
        return {"id": cid, "name": "get_fare", "arguments": args}
    args = {"area": rng.choice(["解放碑", "city centre"])}
    if rng.random() < 0.5:
        args["stars"] = rng.randint(2, 5)
    return {"id": cid, "name": "find_hotel", "arguments": args}


def _result(rng: random.Random, call: dict[str, Any]) -> dict[str, Any]:
    content: Any = {"lowest": 128, "avg": 156} if call["name"] == "get_fare" else rng.choice(
        [[{"name": "解放碑酒店", "stars": 4}], "no hotel found"])
    return {"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": content}


def make_dialog(i: int, rng: random.Random, max_turns: int = 6, reasoning: bool = True) -> dict[str, Any]:
    """One dialogkit-native dialog (a dict ready for ``parse_dialog``)."""
    msgs: list[dict[str, Any]] = []
    if rng.random() < 0.7:
        msgs.append({"role": "system", "content": rng.choice(["你是专业旅行顾问。", "You are a helpful travel agent."])})
    with_tools = rng.random() < 0.7
    for t in range(rng.randint(1, max_turns)):
        zh = rng.random() < 0.5
        msgs.append({"role": "user", "content": " ".join(rng.choice(ZH_USER if zh else EN_USER)
                                                         for _ in range(rng.randint(1, 2)))})
        for step in range(rng.choice([0, 0, 1, 2]) if with_tools else 0):
            calls = [_call(rng, f"call_{i}_{t}_{step}_{k}") for k in range(rng.choice([1, 1, 2, 3]))]
            a: dict[str, Any] = {"role": "assistant", "tool_calls": calls}
            if rng.random() < 0.3:
                a["content"] = rng.choice(EN_ASSIST)
            if reasoning and rng.random() < 0.3:
                a["reasoning"] = rng.choice(REASONING)
            msgs.append(a)
            msgs.extend(_result(rng, c) for c in calls)
        a = {"role": "assistant", "content": " ".join(rng.choice(ZH_ASSIST if zh else EN_ASSIST)
                                                      for _ in range(rng.randint(1, 3)))}
        if reasoning and rng.random() < 0.3:
            a["reasoning"] = rng.choice(REASONING)
        msgs.append(a)
    d: dict[str, Any] = {"id": f"d{i:05d}", "messages": msgs}
    if with_tools:
        d["tools"] = TOOLS
    return d


def make_dialogs(n: int, seed: int = 0, **kw: Any) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_dialog(i, rng, **kw) for i in range(n)]


def long_dialog(turns: int = 40, seed: int = 1) -> dict[str, Any]:
    """A dialog with many turns (and tool use) for truncation tests."""
    rng = random.Random(seed)
    d = make_dialog(0, rng, max_turns=1)
    while sum(1 for m in d["messages"] if m["role"] == "user") < turns:
        more = make_dialog(0, rng, max_turns=1)
        d["messages"] += [m for m in more["messages"] if m["role"] != "system"]
        d.setdefault("tools", TOOLS)
    d["id"] = f"long{seed}"
    return d
