"""Shared helpers for the train tests: a small synthetic task-oriented dialog set and preference pairs.

Not a test module (no ``test_`` prefix). Dialogs book restaurant tables through a tool: the
assistant calls ``book_table`` with the user's details, reads the tool's reference and confirms.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CITIES = ["Paris", "Rome", "Oslo", "Lima", "Cairo", "Tokyo", "Quito", "Bern"]
TIMES = ["18:00", "19:30", "20:00", "12:15", "13:45"]
TOOLS = [{"type": "function", "function": {
    "name": "book_table", "description": "Book a restaurant table.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "people": {"type": "integer"},
                                                    "time": {"type": "string"}}}}}]


def booking_dialog(i: int) -> dict[str, Any]:
    city, time, people = CITIES[i % len(CITIES)], TIMES[i % len(TIMES)], 2 + i % 5
    ref = f"R{100 + i}"
    return {
        "id": f"d{i}",
        "tools": TOOLS,
        "messages": [
            {"role": "system", "content": "You book restaurant tables."},
            {"role": "user", "content": f"Book a table for {people} in {city} at {time}."},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": f"c{i}", "name": "book_table", "arguments": {"city": city, "people": people, "time": time}}]},
            {"role": "tool", "tool_call_id": f"c{i}", "name": "book_table", "content": {"ok": True, "ref": ref}},
            {"role": "assistant", "content": f"Booked for {people} in {city} at {time}. Reference {ref}."},
            {"role": "user", "content": "Thanks!"},
            {"role": "assistant", "content": "You are welcome. Enjoy your meal!"},
        ],
    }


def write_jsonl(path: Path, records: list[Any], bad_lines: list[str] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + list(bad_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def booking_pairs(n: int) -> list[dict[str, Any]]:
    """Pairs at the confirmation turn: the right reference vs a wrong one (a checker-style negative)."""
    pairs = []
    for i in range(n):
        d = booking_dialog(i)
        msgs = d["messages"]
        city, people = CITIES[i % len(CITIES)], 2 + i % 5
        good = msgs[4]["content"]
        bad = f"Sorry, {city} has no table for {people}."
        pairs.append({"id": f"p{i}", "tools": TOOLS, "prompt": msgs[:4],
                      "chosen": [{"role": "assistant", "content": good}],
                      "rejected": [{"role": "assistant", "content": bad}]})
    return pairs


@pytest.fixture(scope="module")
def one_thread():
    """Train on one torch thread: two threads on two shared cores spin against each other (~4x slower)."""
    torch = pytest.importorskip("torch")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
