"""The demo's scenario: the restaurant half of the shipped ``en_restaurant_hotel``, made small.

A tiny model trained for minutes on 2 CPU cores spends most of its compute reading the system
prompt and the tool list, and cannot learn many phrasings of the same act. So the demo derives
a scenario from the shipped one instead of inventing data: the same Cambridge restaurants
(MultiWOZ venues), slots, tools, database, policy and goal sampler, restricted to
``find_restaurant`` / ``book_restaurant``, with a one-line system prompt, one-line tool
descriptions and the first ``variants`` assistant templates of each act (user phrasings are all
kept). The derived YAML is written into the demo folder (table paths point at the shipped
tables), so ``dialogkit synth --scenario DIR/01_synth/scenario.yaml`` reproduces the data and
``score dialogs --scenario`` replays predicted calls on its database.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

BASE = "en_restaurant_hotel"
NAME = "demo_restaurant"
INTENTS = ("find_restaurant", "book_restaurant")
SYSTEM = "You find and book restaurants in Cambridge with the tools. Confirm before booking."
TOOL_TEXT = {
    "search_restaurants": "Search restaurants by food, area and price range.",
    "book_restaurant": "Book a table after the user confirms.",
}
SEARCH_LIMIT = 2  # results a search returns (shorter tool results; the policy still has a fallback)


def _first(texts: Any, keep: int) -> Any:
    """``{lang: [variants]}`` with the first ``keep`` variants of each language."""
    if isinstance(texts, dict):
        return {lang: v[:keep] if isinstance(v, list) else v for lang, v in texts.items()}
    return texts


def _trim_assistant(sc: dict[str, Any], keep: int) -> None:
    """Keep the first ``keep`` phrasings of everything the assistant says; user phrasings stay."""
    for slot in sc.get("slots", {}).values():
        if "ask" in slot:
            slot["ask"] = _first(slot["ask"], keep)
    for intent in sc.get("intents", {}).values():
        for key in ("offer", "confirm", "inform", "no_results"):
            if key in intent:
                intent[key] = _first(intent[key], keep)
    for req in sc.get("requests", {}).values():
        if "answer" in req:
            req["answer"] = _first(req["answer"], keep)
    for item in [*sc.get("asides", []), *sc.get("errors", {}).values()]:
        if "assistant" in item:
            item["assistant"] = _first(item["assistant"], keep)
    if isinstance(sc.get("nlg"), dict):
        sc["nlg"] = {act: _first(texts, keep) for act, texts in sc["nlg"].items()}


def derive_scenario(base_path: Path, variants: int = 1) -> dict[str, Any]:
    """The demo scenario as a YAML-ready dict, derived from the shipped restaurant/hotel one."""
    base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    sc = copy.deepcopy(base)
    sc["name"] = NAME
    sc["description"] = f"Restaurant half of {BASE}, small, for the offline demo"
    sc["system_prompt"] = {"en": SYSTEM}
    intents = {k: v for k, v in sc["intents"].items() if k in INTENTS}
    sc["intents"] = intents
    tools_used = {i.get("search") for i in intents.values()} | {i.get("tool") for i in intents.values()}
    sc["tools"] = {k: v for k, v in sc["tools"].items() if k in tools_used}
    for name, tool in sc["tools"].items():
        tool["description"] = TOOL_TEXT.get(name, tool.get("description", ""))
        if tool.get("impl", {}).get("op") == "search":
            tool["impl"]["limit"] = min(tool["impl"].get("limit", SEARCH_LIMIT), SEARCH_LIMIT)
        for prop in (tool.get("parameters") or {}).get("properties", {}).values():
            if isinstance(prop, dict):
                prop.pop("description", None)
    tables = {t["impl"]["table"] for t in sc["tools"].values() if "impl" in t}
    sc["tables"] = {
        k: {**v, "file": str((base_path.parent / v["file"]).resolve())}
        for k, v in sc["tables"].items()
        if k in tables
    }
    requestable = {r for i in intents.values() for r in i.get("requestable", [])}
    sc["requests"] = {k: v for k, v in sc.get("requests", {}).items() if k in requestable}
    _trim_assistant(sc, variants)
    for aside in sc.get("asides", []):
        aside["assistant"] = {
            lang: [t.replace("restaurants and hotels", "restaurants") for t in texts]
            for lang, texts in aside.get("assistant", {}).items()
        }
    goals = sc.setdefault("goals", {})
    goals["chains"] = [c for c in goals.get("chains", []) if all(i in INTENTS for i in c)]
    return sc


def write_scenario(out: Path, variants: int = 1) -> Path:
    """Write the derived scenario YAML to ``out`` (atomically) and return its path."""
    from dialogkit.io import AtomicWriter
    from dialogkit.synth.scenario import resolve_scenario_path

    data = derive_scenario(resolve_scenario_path(BASE), variants)
    text = f"# Derived from {BASE} by dialogkit.demo.scenario; regenerate with `dialogkit demo`.\n"
    text += yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    with AtomicWriter(out) as fh:
        fh.write(text.encode("utf-8"))
    return out
