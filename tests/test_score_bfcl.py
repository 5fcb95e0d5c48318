"""`score bfcl` and the BFCL AST checker: ground truth scores 1.0, each error type is named as BFCL names it."""

from __future__ import annotations

import json

import pytest

from dialogkit.score import ast_check, bfcl

CATEGORIES = ["simple_python", "multiple", "parallel"]


def _first(acceptable):
    for a in acceptable:
        if a != "":
            return _plain(a)
    return None


def _plain(v):
    if isinstance(v, dict):
        return {k: _first(x) for k, x in v.items() if any(y != "" for y in x)}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def ground_truth_predictions(answers_path):
    """Each possible answer turned into a prediction: first acceptable value, optional params left out."""
    out = []
    for line in answers_path.read_text().splitlines():
        entry = json.loads(line)
        calls = []
        for call in entry["ground_truth"]:
            ((name, args),) = call.items()
            calls.append(
                {
                    "name": name,
                    "arguments": {p: _first(a) for p, a in args.items() if any(x != "" for x in a)},
                }
            )
        out.append({"id": entry["id"], "tool_calls": calls})
    return out


@pytest.fixture(scope="module")
def bfcl_dir(shared_dir):
    return shared_dir / "data" / "bfcl"


@pytest.mark.parametrize("category", CATEGORIES)
def test_ground_truth_scores_one_through_cli(run_cli, bfcl_dir, tmp_path, category):
    answers = bfcl_dir / "possible_answer" / f"BFCL_v4_{category}.json"
    pred = tmp_path / "pred.jsonl"
    pred.write_text("\n".join(json.dumps(p) for p in ground_truth_predictions(answers)))
    out = tmp_path / "report.json"
    res = run_cli(
        "score",
        "bfcl",
        "--questions",
        bfcl_dir / f"BFCL_v4_{category}.json",
        "--answers",
        answers,
        "--pred",
        pred,
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["accuracy"] == 1.0
    assert report["total"] == {"simple_python": 400, "multiple": 200, "parallel": 200}[category]
    assert report["error_types"] == {}
    assert report["metrics"]["accuracy"]["value"] == 1.0
    assert all(v["valid"] for v in report["verdicts"])


def _entry(bfcl_dir, category, entry_id):
    q = next(
        json.loads(x)
        for x in (bfcl_dir / f"BFCL_v4_{category}.json").read_text().splitlines()
        if json.loads(x)["id"] == entry_id
    )
    a = next(
        json.loads(x)
        for x in (bfcl_dir / "possible_answer" / f"BFCL_v4_{category}.json").read_text().splitlines()
        if json.loads(x)["id"] == entry_id
    )
    return q, a["ground_truth"]


def test_hand_made_errors_get_bfcl_error_types(bfcl_dir):
    # parallel_0: spotify.play(artist: string, duration: integer) twice.
    q, gt = _entry(bfcl_dir, "parallel", "parallel_0")
    good = [
        {"spotify.play": {"artist": "Taylor Swift", "duration": 20}},
        {"spotify.play": {"artist": "Maroon 5", "duration": 15}},
    ]
    check = lambda calls, cat="parallel": ast_check.check(cat, q["function"], calls, gt)  # noqa: E731
    assert check(good).valid
    assert check(good[::-1]).valid, "parallel calls are matched without order"
    assert check([{"spotify.play": {"artist": "taylor  swift", "duration": 20}}, good[1]]).valid, (
        "string standardisation"
    )
    assert check(good[:1]).error_type == "parallel_function_checker_no_order:wrong_count"
    wrong_value = [{"spotify.play": {"artist": "Taylor Swift", "duration": 21}}, good[1]]
    verdict = check(wrong_value)
    assert verdict.error_type == "parallel_function_checker_no_order:cannot_find_match"
    # Checked singly, the same wrong call shows the underlying value error.
    assert ast_check.check_call(q["function"][0], wrong_value[0], gt[0]).error_type == "value_error:others"
    typed = {"spotify.play": {"artist": "Taylor Swift", "duration": 20.0}}
    assert ast_check.check_call(q["function"][0], typed, gt[0]).error_type == "type_error:simple"
    as_text = {"spotify.play": {"artist": "Taylor Swift", "duration": "20"}}
    assert ast_check.check_call(q["function"][0], as_text, gt[0]).error_type == "type_error:simple"
    assert (
        ast_check.check_call(q["function"][0], {"spotify.play": {"artist": "Taylor Swift"}}, gt[0]).error_type
        == "simple_function_checker:missing_required"
    )
    extra = {"spotify.play": {"artist": "Taylor Swift", "duration": 20, "shuffle": True}}
    assert (
        ast_check.check_call(q["function"][0], extra, gt[0]).error_type
        == "simple_function_checker:unexpected_param"
    )
    assert (
        ast_check.check_call(
            q["function"][0], {"spotify_play": {"artist": "Taylor Swift", "duration": 20}}, gt[0]
        ).error_type
        == "simple_function_checker:wrong_func_name"
    )
    assert ast_check.check_call(
        q["function"][0],
        {"spotify_play": {"artist": "Taylor Swift", "duration": 20}},
        gt[0],
        underscore_to_dot=True,
    ).valid


def test_simple_entry_errors_and_optional(bfcl_dir):
    # simple_python_0: calculate_triangle_area(base: int, height: int, unit: string optional "units" or "").
    q, gt = _entry(bfcl_dir, "simple_python", "simple_python_0")
    fn = q["function"]
    assert ast_check.check(
        "simple_python", fn, [{"calculate_triangle_area": {"base": 10, "height": 5}}], gt
    ).valid
    assert ast_check.check(
        "simple_python", fn, [{"calculate_triangle_area": {"base": 10, "height": 5, "unit": "UNITS"}}], gt
    ).valid
    r = ast_check.check(
        "simple_python", fn, [{"calculate_triangle_area": {"base": 10, "height": 5, "unit": "cm"}}], gt
    )
    assert r.error_type == "value_error:string"
    r = ast_check.check("simple_python", fn, [{"calculate_triangle_area": {"base": True, "height": 5}}], gt)
    assert r.error_type == "type_error:simple", "a bool is not an integer"
    two = [{"calculate_triangle_area": {"base": 10, "height": 5}}] * 2
    assert ast_check.check("simple_python", fn, two, gt).error_type == "simple_function_checker:wrong_count"


def test_float_accepts_int_but_not_the_reverse():
    fn = {
        "name": "f",
        "parameters": {
            "type": "dict",
            "properties": {"x": {"type": "float"}, "n": {"type": "integer"}},
            "required": ["x"],
        },
    }
    answer = {"f": {"x": [2.0], "n": [3, ""]}}
    assert ast_check.check_call(fn, {"f": {"x": 2}}, answer).valid
    assert ast_check.check_call(fn, {"f": {"x": 2.0, "n": 3.0}}, answer).error_type == "type_error:simple"
    assert (
        ast_check.check_call(fn, {"f": {"x": 2.0}}, {"f": {"x": [2.0], "n": [3]}}).error_type
        == "simple_function_checker:missing_optional"
    )


def test_list_and_dict_values():
    fn = {
        "name": "g",
        "parameters": {
            "type": "dict",
            "properties": {"xs": {"type": "array", "items": {"type": "string"}}, "d": {"type": "dict"}},
            "required": [],
        },
    }
    answer = {"g": {"xs": [["New York", "LA"]], "d": [{"k": ["v"], "opt": ["", 1]}, ""]}}
    assert ast_check.check_call(fn, {"g": {"xs": ["new york", "la"]}}, answer).valid
    assert (
        ast_check.check_call(fn, {"g": {"xs": ["LA", "New York"]}}, answer).error_type
        == "value_error:list/tuple"
    )
    assert ast_check.check_call(fn, {"g": {"xs": ["LA", 3]}}, answer).error_type == "type_error:nested"
    assert ast_check.check_call(fn, {"g": {"xs": ["New York", "LA"], "d": {"k": "V"}}}, answer).valid
    assert (
        ast_check.check_call(fn, {"g": {"xs": ["New York", "LA"], "d": {"k": "w"}}}, answer).error_type
        == "value_error:dict_value"
    )
    assert (
        ast_check.check_call(
            fn, {"g": {"xs": ["New York", "LA"], "d": {"k": "v", "z": 1}}}, answer
        ).error_type
        == "value_error:dict_key"
    )


def test_standardize_string_matches_bfcl_rule():
    assert ast_check.standardize_string("April 1, 2024") == ast_check.standardize_string("april 1,2024")
    assert ast_check.standardize_string("It's a_b-c*d^e/f.g") == 'it"sabcdefg'


def _write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")


def test_decoder_errors_missing_and_bad_lines(run_cli, tmp_path):
    q = {
        "id": "simple_python_0",
        "question": [[{"role": "user", "content": "area?"}]],
        "function": [
            {
                "name": "area",
                "parameters": {"type": "dict", "properties": {"b": {"type": "integer"}}, "required": ["b"]},
            }
        ],
    }
    questions = [dict(q, id=f"simple_python_{i}") for i in range(5)]
    answers = [{"id": f"simple_python_{i}", "ground_truth": [{"area": {"b": [3]}}]} for i in range(5)]
    preds = [
        {"id": "simple_python_0", "tool_calls": [{"name": "area", "arguments": '{"b": 3}'}]},
        {"id": "simple_python_1", "tool_calls": [{"name": "area", "arguments": "{b: 3"}]},
        {"id": "simple_python_2", "tool_calls": "area(b=3)"},
        {
            "id": "simple_python_3",
            "tool_calls": [{"type": "function", "function": {"name": "area", "arguments": {"b": 3}}}],
        },
        "{not json",
        {"id": "nope", "tool_calls": []},
    ]
    _write(tmp_path / "q.json", questions)
    _write(tmp_path / "a.json", answers)
    _write(tmp_path / "p.jsonl", preds)
    out = tmp_path / "r.json"
    res = run_cli(
        "score",
        "bfcl",
        "--questions",
        tmp_path / "q.json",
        "--answers",
        tmp_path / "a.json",
        "--pred",
        tmp_path / "p.jsonl",
        "--out",
        out,
    )
    assert res.exit_code == 1, "a bad prediction line is reported and the run exits 1"
    assert "p.jsonl:5" in res.output and "JSON_INVALID" in res.output
    assert "UNKNOWN_ID" in res.output
    report = json.loads(out.read_text())
    types = {v["id"]: v["error_type"] for v in report["verdicts"]}
    assert types == {
        "simple_python_0": None,
        "simple_python_1": "ast_decoder:decoder_failed",
        "simple_python_2": "ast_decoder:decoder_wrong_output_format",
        "simple_python_3": None,
        "simple_python_4": "missing_prediction",
    }
    assert report["accuracy"] == pytest.approx(2 / 5)
    assert report["missing"] == ["simple_python_4"]


def test_irrelevance_and_unsupported_categories(tmp_path):
    data = bfcl.BfclData(
        questions={"irrelevance_0": {"function": []}, "irrelevance_1": {"function": []}},
        answers={"irrelevance_0": [], "irrelevance_1": []},
        predictions={"irrelevance_0": [], "irrelevance_1": [{"f": {}}]},
    )
    verdicts, _ = bfcl.score(data)
    assert [v["error_type"] for v in verdicts] == [None, "irrelevance_error:decoder_success"]
    data = bfcl.BfclData(questions={"simple_java_0": {"function": []}}, answers={"simple_java_0": []})
    from dialogkit.errors import UsageError

    with pytest.raises(UsageError, match="Java"):
        bfcl.score(data)


def test_bfcl_help_and_missing_output(run_cli, tmp_path):
    assert "dialogkit score bfcl" in run_cli("score", "bfcl", "--help").output
    for name in ("q.json", "a.json", "p.jsonl"):
        (tmp_path / name).write_text("")
    res = run_cli(
        "score",
        "bfcl",
        "--questions",
        tmp_path / "q.json",
        "--answers",
        tmp_path / "a.json",
        "--pred",
        tmp_path / "p.jsonl",
    )
    assert res.exit_code == 2 and "--out" in res.output
