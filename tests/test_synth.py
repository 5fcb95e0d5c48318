"""dialogkit synth: database tools, NLG, goals, policy behaviour and the CLI contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dialogkit.errors import InputError, RecordError
from dialogkit.synth import GENERATORS, get_generator
from dialogkit.synth.db import Database
from dialogkit.synth.nlg import NLG
from dialogkit.synth.outline import OutlineGenerator
from dialogkit.synth.scenario import GENERATORS_DIR, load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def zh():
    return load_scenario("zh_travel")


@pytest.fixture(scope="module")
def support():
    return load_scenario("support")


# ------------------------------------------------------------------------------ database
def test_fare_lookup_is_realistic(zh):
    s = Database(zh).session()
    res = s.execute("get_fare", {"origin": "重庆", "destination": "成都", "seat_class": "二等座"})
    assert res["price"] == 154 and res["origin_station"] == "重庆西"
    res = s.execute("get_fare", {"origin": "上海", "destination": "北京", "seat_class": "二等座"})
    assert res["price"] == 553


def test_tool_errors_are_json_objects(zh):
    s = Database(zh).session()
    assert s.execute("fly", {})["error"]["code"] == "UNKNOWN_TOOL"
    bad = s.execute("get_fare", {"origin": "重庆", "destination": "成都", "seat_class": "站票"})
    assert bad["error"]["code"] == "INVALID_ARGUMENTS" and "站票" in bad["error"]["message"]
    assert s.execute("get_fare", {"origin": "重庆"})["error"]["code"] == "INVALID_ARGUMENTS"
    miss = s.execute("get_fare", {"origin": "重庆", "destination": "拉萨", "seat_class": "二等座"})
    assert miss["error"]["code"] == "NOT_FOUND"
    json.dumps(miss)  # plain JSON


def test_search_sorted_and_booking_deterministic(zh):
    args = {"origin": "上海", "destination": "北京", "date": "5月20日", "seat_class": "二等座"}
    db = Database(zh)
    res = db.session().execute("search_trains", args)
    times = [r["depart_time"] for r in res["results"]]
    assert times == sorted(times) and res["count"] >= len(times) > 0
    book = {"train_no": res["results"][0]["train_no"], "date": "5月20日", "seat_class": "二等座", "passengers": 2}
    a, b = db.session(), db.session()
    ra, rb = a.execute("book_train", book), b.execute("book_train", book)
    assert ra == rb  # same call, same result, in any session
    if "error" not in ra:
        assert ra["total"] == 2 * res["results"][0]["price"]
        assert a.final_state()["bookings"][0]["booking_id"] == ra["booking_id"]


def test_sold_out_is_a_stable_function_of_the_arguments(zh):
    db = Database(zh)
    trains = sorted({r["train_no"] for r in db.tables["trains"]})
    dates = ["5月1日", "5月3日", "6月1日", "7月1日"]
    outcomes = {(t, d): "error" in db.session().execute(
        "book_train", {"train_no": t, "date": d, "seat_class": "二等座", "passengers": 1}) for t in trains for d in dates}
    rate = sum(outcomes.values()) / len(outcomes)
    assert 0.03 < rate < 0.35
    again = {k: "error" in db.session().execute(
        "book_train", {"train_no": k[0], "date": k[1], "seat_class": "二等座", "passengers": 1}) for k in outcomes}
    assert again == outcomes


def test_auth_and_requirements(support):
    db = Database(support)
    order = next(r for r in db.tables["orders"] if r["status"] == "processing")
    other = next(r for r in db.tables["orders"] if r["email"] != order["email"])
    s = db.session()
    assert s.execute("get_order", {"order_id": order["order_id"], "email": other["email"]})["error"]["code"] == "UNAUTHORIZED"
    ok = s.execute("cancel_order", {"order_id": order["order_id"], "email": order["email"]})
    assert ok["status"] == "cancelled"
    # the change is visible in this session only
    again = s.execute("cancel_order", {"order_id": order["order_id"], "email": order["email"]})
    assert again["error"]["code"] == "CANNOT_CANCEL"
    assert db.session().execute("get_order", {"order_id": order["order_id"], "email": order["email"]})["status"] == "processing"


def test_itinerary_respects_budget(zh):
    s = Database(zh).session()
    res = s.execute("plan_itinerary", {"city": "成都", "days": 2, "budget": 100})
    assert res["total_cost"] <= 100 and len(res["itinerary"]) == 2
    assert all(len(day["items"]) <= 2 for day in res["itinerary"])


# ----------------------------------------------------------------------------------- NLG
def test_nlg_filters_and_numbers(support):
    nlg = NLG("zh", labels=support.spec.labels)
    assert nlg.render("订单{status|label}，{total}元", {"status": "shipped", "total": 553.0}) == "订单已发货，553元"
    assert NLG("en").render("{items}", {"items": ["a", "b"]}) == "a, b"
    with pytest.raises(InputError, match="needs"):
        nlg.render("{missing}", {})


# ---------------------------------------------------------------------------- scenarios
def test_misspelled_scenario_key_is_located(tmp_path):
    text = (GENERATORS_DIR / "support.yaml").read_text(encoding="utf-8").replace("languages:", "langauges:", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    (tmp_path / "data").symlink_to(GENERATORS_DIR / "data")
    with pytest.raises(RecordError) as e:
        load_scenario(bad)
    codes = {(i.code, i.path) for i in e.value.issues}
    assert ("FIELD_UNKNOWN", "langauges") in codes and ("FIELD_MISSING", "languages") in codes


def test_dangling_tool_reference(tmp_path):
    text = (GENERATORS_DIR / "zh_travel.yaml").read_text(encoding="utf-8").replace("tool: get_fare", "tool: get_fares")
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "data").symlink_to(GENERATORS_DIR / "data")
    with pytest.raises(RecordError, match="unknown tool 'get_fares'"):
        load_scenario(tmp_path / "s.yaml")


def test_unknown_scenario_lists_shipped():
    with pytest.raises(InputError, match="zh_travel"):
        load_scenario("nope")


# ------------------------------------------------------------------------------- policy
def _expected(d):
    return [m.get("expected") for m in d["messages"] if m["role"] == "assistant"]


def test_confirm_comes_before_every_transaction(zh, support):
    for sc in (zh, support):
        gen = OutlineGenerator(sc, seed=3)
        transactional = {n for n, t in sc.spec.tools.items() if t.transactional}
        for i in range(1, 120):
            d = gen.dialog(i)
            last_user_affirmed = False
            for m in d["messages"]:
                if m["role"] == "user":
                    last_user_affirmed = any(a["act"] == "AFFIRM" for a in m.get("acts", []))
                for c in m.get("tool_calls", []):
                    if c["name"] in transactional:
                        assert last_user_affirmed, (d["id"], c)


def test_clarify_annotations_name_the_missing_slots(zh):
    gen = OutlineGenerator(zh, seed=1)
    seen = 0
    for i in range(1, 60):
        d = gen.dialog(i)
        for a in d["metadata"]["annotations"]:
            msg = d["messages"][a["message"]]
            assert msg.get("expected") == a["expected"]
            if a["expected"] == "clarify":
                seen += 1
                assert set(a["asked"]) <= set(a["missing"]) <= set(a["required"])
                assert not set(a["missing"]) & set(msg["state"].get("slots", {}))
            if a["expected"] == "call_tool":
                args = msg["tool_calls"][0]["arguments"]
                for arg, slot in a["arg_sources"].items():
                    assert args[arg] == msg["state"]["slots"][slot]
    assert seen > 10


def test_tool_arguments_come_from_state_or_results(zh):
    d = next(d for d in (OutlineGenerator(zh, 0).dialog(i) for i in range(1, 200))
             if any(c["name"] == "book_train" for m in d["messages"] for c in m.get("tool_calls", [])))
    for m in d["messages"]:
        for c in m.get("tool_calls", []):
            slots = m["state"]["slots"]
            assert all(slots.get(k) == v for k, v in c["arguments"].items()), c


def test_unauthorized_email_is_refused(support):
    gen = OutlineGenerator(support, seed=0)
    found = False
    for i in range(1, 200):
        d = gen.dialog(i)
        if "UNAUTHORIZED" in d["metadata"]["outcome"].get("errors", []):
            found = True
            refusal = [m for m in d["messages"] if m.get("expected") == "refuse"]
            assert refusal and not d["metadata"]["final_db"]["updates"]
            assert d["goal"].get("booking") is None
    assert found


def test_language_option(support):
    gen = OutlineGenerator(support, seed=0, lang="zh")
    assert {gen.dialog(i)["metadata"]["language"] for i in range(1, 20)} == {"zh"}


# ---------------------------------------------------------------------------------- CLI
def test_registry_lists_all_modes():
    assert {"outline", "augment", "selfplay", "paraphrase"} <= set(GENERATORS.names())
    assert callable(get_generator("outline"))


def test_cli_outline_writes_exactly_n_and_is_byte_deterministic_across_processes(run_cli, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    r = run_cli("synth", "--scenario", "zh_travel", "--mode", "outline", "--n", "60", "--seed", "7", "--out", a)
    assert r.exit_code == 0, r.output
    assert "wrote 60 dialogs" in r.stderr and "\x1b[" not in r.stderr  # no progress bar off a TTY
    env = dict(os.environ, PYTHONHASHSEED="12345")
    p = subprocess.run([sys.executable, "-m", "dialogkit", "synth", "--scenario", "zh_travel", "--n", "60",
                        "--seed", "7", "--out", str(b), "--quiet"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert a.read_bytes() == b.read_bytes()
    lines = a.read_bytes().splitlines()
    assert len(lines) == 60
    first = json.loads(lines[0])
    assert first["metadata"]["provenance"]["seed"] == 7


def test_cli_other_seed_differs(run_cli, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run_cli("synth", "--scenario", "support", "--n", "20", "--seed", "1", "--out", a, "-q")
    run_cli("synth", "--scenario", "support", "--n", "20", "--seed", "2", "--out", b, "-q")
    assert a.read_bytes() != b.read_bytes()


@pytest.mark.parametrize(("mode", "needs"), [("selfplay", "--model"), ("paraphrase", "--in")])
def test_cli_llm_modes_name_their_missing_option(run_cli, tmp_path, mode, needs):
    r = run_cli("synth", "--scenario", "zh_travel", "--mode", mode, "--n", "2", "--out", tmp_path / "x.jsonl")
    assert r.exit_code == 2
    assert f"{mode} needs {needs}" in r.output
    assert not (tmp_path / "x.jsonl").exists()


def test_cli_usage_errors(run_cli, tmp_path):
    r = run_cli("synth", "--mode", "outlin", "--scenario", "zh_travel", "--n", "2", "--out", tmp_path / "x.jsonl")
    assert r.exit_code == 2 and "Did you mean: outline" in r.output
    r = run_cli("synth", "--n", "2", "--out", tmp_path / "x.jsonl")
    assert r.exit_code == 2 and "--scenario" in r.output
    r = run_cli("synth", "--scenario", "zh_travel", "--lang", "en", "--n", "2", "--out", tmp_path / "x.jsonl")
    assert r.exit_code == 2 and "no language 'en'" in r.output
    r = run_cli("synth", "--scenario", "zh_travel", "--n", "2", "--out", tmp_path / "x.jsonl", "--set", "oops")
    assert r.exit_code == 2 and "KEY=VALUE" in r.output


def test_cli_bad_scenario_is_a_located_error(run_cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nslots: [\n", encoding="utf-8")
    r = run_cli("synth", "--scenario", bad, "--n", "2", "--out", tmp_path / "x.jsonl")
    assert r.exit_code == 1 and f"{bad}:" in r.output and "not valid YAML" in r.output


def test_cli_refuses_to_overwrite_the_scenario(run_cli, tmp_path):
    src = tmp_path / "s.yaml"
    src.write_text((GENERATORS_DIR / "support.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "data").symlink_to(GENERATORS_DIR / "data")
    before = src.read_bytes()
    r = run_cli("synth", "--scenario", src, "--n", "2", "--out", src)
    assert r.exit_code == 1 and "refusing to overwrite" in r.output
    assert src.read_bytes() == before


def test_cli_reports_shortfall(run_cli, tmp_path):
    out = tmp_path / "x.jsonl"
    r = run_cli("synth", "--scenario", "support", "--n", "50", "--out", out, "--set", "max_attempts=10")
    assert r.exit_code == 1 and "only" in r.stderr
    assert len(out.read_bytes().splitlines()) <= 10  # what was made is kept


def test_help_has_examples(run_cli):
    r = run_cli("synth", "--help")
    assert r.exit_code == 0 and "dialogkit synth --scenario zh_travel" in r.output


# ---------------------------------------------------------------------------- final check
def _tool_dialog(args, *tail, content="Booked."):
    tools = [{"function": {"name": "book", "parameters": {
        "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}]
    msgs = [{"role": "system", "content": "Agent. Contact: help@example.com"},
            {"role": "user", "content": "Book it."},
            {"role": "assistant", "tool_calls": [{"id": "c1", "name": "book", "arguments": args}]},
            *tail]
    if content is not None:
        msgs.append({"role": "assistant", "content": content})
    return {"id": "t", "messages": msgs, "tools": tools}


def test_check_dialog_uses_validate_rules_and_rejects_only_errors():
    from dialogkit.synth.check import check_dialog

    result = {"role": "tool", "tool_call_id": "c1", "name": "book", "content": {"ok": True}}
    # One user turn and an e-mail address: warnings for validate, fine for a synthesized dialog.
    assert check_dialog(_tool_dialog({"n": 2}, result)) == []

    def codes(d):
        return [(i.code, i.path) for i in check_dialog(d)]

    assert codes(_tool_dialog({"n": "two"}, result)) == [("TOOL_ARGS_SCHEMA", "messages[2].tool_calls[0].arguments.n")]
    assert codes(_tool_dialog({"n": 2})) == [("TOOL_CALL_UNANSWERED", "messages[2].tool_calls[0]")]
    assert codes(_tool_dialog({"n": 2}, result, content=None)) == [("LAST_NOT_ASSISTANT", "messages[3]")]
    orphan = {**result, "tool_call_id": "c9"}
    assert ("TOOL_RESULT_ORPHAN", "messages[4].tool_call_id") in codes(_tool_dialog({"n": 2}, result, orphan))
    # Only a generator's checks: half-rendered templates and empty user text.
    assert codes(_tool_dialog({"n": 2}, result, content="Booked {n} seats.")) == [
        ("TEMPLATE_LEFTOVER", "messages[4].content")]
    empty_user = _tool_dialog({"n": 2}, result)
    empty_user["messages"][1]["content"] = " "
    assert codes(empty_user) == [("TEXT_EMPTY", "messages[1].content")]
    # A record that does not parse stops at its structural issue.
    assert codes({"id": "t", "messages": [{"role": "bot", "content": "{x}"}]}) == [("ROLE_UNKNOWN", "messages[0]")]


def test_validate_tools_and_argument_errors():
    from dialogkit.synth.check import argument_errors, validate_tools

    spec = {"function": {"name": "f", "parameters": {"type": "objekt"}}}
    assert [(i.code, i.path) for i in validate_tools([spec, spec])] == [
        ("TOOL_SCHEMA_INVALID", "tools[0].function.parameters"), ("TOOL_NAME_DUPLICATE", "tools[1].function.name")]
    schema = {"type": "object", "properties": {"seat": {"type": "string", "enum": ["A", "B"]}}, "required": ["seat"]}
    assert argument_errors(schema, {"seat": "A"}) == []
    assert argument_errors(schema, {"seat": "C"}) == ["'C' is not one of ['A', 'B']"]
    assert argument_errors(schema, {}) == ["'seat' is a required property"]


@pytest.mark.parametrize("name", ["zh_travel", "en_restaurant_hotel", "support"])
def test_outline_output_has_no_validate_errors(name):
    from dialogkit.synth import SynthReport
    from dialogkit.synth.outline import generate
    from dialogkit.validate import validate_dialog

    dialogs = generate(OutlineGenerator(load_scenario(name), seed=3), 60, SynthReport())
    errors = {i.code for d in dialogs for i in validate_dialog(d) if i.severity == "error"}
    # COPY_LOOP: the support policy's verbatim re-confirmation (see dialogkit/synth/check.py).
    assert errors <= {"COPY_LOOP"}, errors
