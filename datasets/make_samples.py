"""Regenerate dialogkit's sample data sets (deterministic, offline): python datasets/make_samples.py

Four small synthetic data sets, each ``<name>/dialogs.jsonl`` in dialogkit's format plus a
data card ``<name>/README.md``:

* ``restaurant_en``: task-oriented, English, dialog state + acts + tool calls (SGD-like).
* ``hotel_zh``: task-oriented, Chinese, dialog state + acts + tool calls.
* ``tools_mixed``: tool calling in Chinese and English, incl. parallel calls and failures.
* ``chat_mixed``: open chat in Chinese and English with system prompts.

Everything comes from templates and a seeded ``random.Random``; running the script twice
gives byte-identical files. Tool-call ids follow dialogkit's ``call_<m>_<k>`` convention and
tool results are JSON objects/arrays, so OpenAI and ShareGPT round trips are identities.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from dialogkit.io import iter_records, write_jsonl  # noqa: E402
from dialogkit.records import parse_dialog  # noqa: E402
from dialogkit.schema import dump  # noqa: E402
from dialogkit.validate import Outputs, validate_file  # noqa: E402

from samples_lib import CARDS, chat, hotel, restaurant, tools  # noqa: E402

BUILDERS = {"restaurant_en": restaurant.build, "hotel_zh": hotel.build, "tools_mixed": tools.build,
            "chat_mixed": chat.build}


def _stats(dialogs: list[dict[str, Any]]) -> dict[str, int]:
    msgs = [m for d in dialogs for m in d["messages"]]
    return {
        "dialogs": len(dialogs),
        "messages": len(msgs),
        "tool_calls": sum(len(m.get("tool_calls", [])) for m in msgs),
        "with_state": sum(1 for m in msgs if "state" in m),
    }


def main() -> None:
    for name, build in BUILDERS.items():
        dialogs = [dump(parse_dialog(d)) for d in build(random.Random(f"dialogkit-{name}"))]
        out = HERE / name
        out.mkdir(exist_ok=True)
        # Ship only what `dialogkit validate` passes (templates can repeat a dialog exactly or nearly).
        raw = out / "dialogs.unvalidated.jsonl"
        write_jsonl(raw, dialogs)
        validate_file(raw, outputs=Outputs(out=str(out / "dialogs.jsonl")))
        raw.unlink()
        dialogs = [r.data for r in iter_records(out / "dialogs.jsonl")]
        stats = _stats(dialogs)
        (out / "README.md").write_text(CARDS[name].format(**stats), encoding="utf-8")
        size = (out / "dialogs.jsonl").stat().st_size
        print(f"{name}: {stats['dialogs']} dialogs, {stats['messages']} messages, {size} bytes")


if __name__ == "__main__":
    main()
