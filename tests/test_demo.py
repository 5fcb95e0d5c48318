"""`dialogkit demo`: stages, resume, the derived scenario, summary and report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from demo_support import make_demo_dir

from dialogkit.demo.config import STAGES, build_config
from dialogkit.demo.runner import fingerprint, select_stages
from dialogkit.errors import UsageError


def test_derived_scenario_loads_synthesizes_and_is_small(tmp_path):
    from dialogkit.demo.scenario import INTENTS, SYSTEM, write_scenario
    from dialogkit.synth import SynthJob, run
    from dialogkit.synth.scenario import load_scenario

    path = write_scenario(tmp_path / "scenario.yaml", variants=1)
    loaded = load_scenario(path)
    spec = loaded.spec
    assert set(spec.intents) == set(INTENTS) and set(spec.tools) == {"search_restaurants", "book_restaurant"}
    assert spec.system_prompt["en"] == SYSTEM
    for intent in spec.intents.values():
        for key in ("offer", "confirm", "inform"):
            texts = getattr(intent, key, None)
            if texts:
                assert all(len(v) == 1 for v in texts.values())
    base = yaml.safe_load((Path(loaded.spec.tables["restaurants"].file)).parent.joinpath(
        "..", "en_restaurant_hotel.yaml").read_text())
    assert len(base["intents"]["find_restaurant"]["open"]["en"]) == len(
        yaml.safe_load(path.read_text())["intents"]["find_restaurant"]["open"]["en"])  # user phrasings kept
    out = tmp_path / "d.jsonl"
    rep = run(SynthJob(mode="outline", out=out, seed=0, n=20, scenario=str(path), inputs=[], lang=None, options={}))
    assert rep.written == 20
    dialogs = [json.loads(line) for line in out.read_text().splitlines()]
    assert {t["function"]["name"] for d in dialogs for t in d["tools"]} == {"search_restaurants", "book_restaurant"}
    assert all(d["metadata"]["provenance"]["scenario"] == "demo_restaurant" for d in dialogs)


def test_stage_selection_and_fingerprints(tmp_path):
    assert select_stages(None, None) == (list(STAGES), set())
    chosen, forced = select_stages(None, "dpo")
    assert chosen == ["dpo", "score", "report"] and forced == set(chosen)
    assert select_stages(["report", "synth"], None) == (["synth", "report"], set())
    with pytest.raises(UsageError, match="unknown stage"):
        select_stages(["trian"], None)
    with pytest.raises(UsageError, match="not both"):
        select_stages(["sft"], "dpo")
    a = build_config(tmp_path, fast=True)
    b = build_config(tmp_path, fast=True, dpo={"beta": "0.3"})
    assert fingerprint(a, "sft") == fingerprint(b, "sft")  # DPO settings do not touch earlier stages
    assert fingerprint(a, "dpo") != fingerprint(b, "dpo") and fingerprint(a, "score") != fingerprint(b, "score")


def test_config_presets_and_overrides(tmp_path):
    full, fast = build_config(tmp_path), build_config(tmp_path, fast=True)
    assert fast.n_train < full.n_train and fast.sft["max_steps"] < full.sft["max_steps"]
    assert full.sft["adapter"] == "full"  # the tiny model: full fine-tuning learns, LoRA barely does
    real = build_config(tmp_path, model="Qwen/Qwen3-0.6B", sft={"max_steps": "5"})
    assert real.sft["adapter"] == "lora" and real.sft["max_steps"] == "5"


def test_first_stages_through_the_cli_resume_and_rerun(run_cli, tmp_path):
    out = tmp_path / "demo"
    res = run_cli("demo", "--out", out, "--fast", "--stages", "synth,validate", "-q")
    assert res.exit_code == 0, res.output
    man = json.loads((out / "01_synth" / "stage.json").read_text())
    assert man["commands"][0].startswith("dialogkit synth --scenario ")
    train = [json.loads(x) for x in (out / "01_synth" / "train.jsonl").read_text().splitlines()]
    held = [json.loads(x) for x in (out / "01_synth" / "heldout.jsonl").read_text().splitlines()]
    assert len(train) == 64 and len(held) == 12
    users = {json.dumps([m["content"] for m in d["messages"] if m["role"] == "user"]) for d in train}
    assert not any(json.dumps([m["content"] for m in d["messages"] if m["role"] == "user"]) in users for d in held)
    # the state is written as reasoning before each assistant turn
    assert all(m["reasoning"].startswith("state ") for m in train[0]["messages"]
               if m["role"] == "assistant" and "state" in m)
    assert (out / "02_validate" / "train.jsonl").is_file()
    report = json.loads((out / "02_validate" / "train.report.json").read_text())
    assert report["dialogs"] == 64 and report["rejected"] == 0
    again = run_cli("demo", "--out", out, "--fast", "--stages", "synth,validate", "-q")
    assert again.exit_code == 0 and again.output.count("reused") == 2
    forced = run_cli("demo", "--out", out, "--fast", "--stages", "validate", "--force", "-q")
    assert "[2/8] validate: done in" in forced.output and "synth" not in forced.output


def test_later_stage_without_earlier_ones_is_a_usage_error(run_cli, tmp_path):
    res = run_cli("demo", "--out", tmp_path / "d", "--fast", "--stages", "sft")
    assert res.exit_code == 2 and "has not run" in res.output
    res = run_cli("demo", "--out", tmp_path / "d", "--stages", "nope")
    assert res.exit_code == 2 and "unknown stage" in res.output
    res = run_cli("demo", "--out", tmp_path / "d", "--base-url", "http://x/v1")
    assert res.exit_code == 2 and "--endpoint-model" in res.output


def test_summary_and_report_from_real_score_reports(tmp_path):
    from dialogkit.demo.stages import report

    ctx = make_demo_dir(tmp_path / "demo")
    report(ctx)
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert set(summary["models"]) == {"base", "sft", "dpo"}
    for m in summary["models"].values():
        for key in ("task_success", "inform", "slot_f1", "tool_args_accuracy", "json_parse_rate", "eval_loss"):
            assert key in m
        assert m["task_success"] is None or 0 <= m["task_success"] <= 1
    base, sft = summary["models"]["base"], summary["models"]["sft"]
    assert base["task_success"] == 0.25 and sft["task_success"] == 1.0  # the scorer's own numbers
    assert summary["checks"]["sft_beats_base_on_task_success"] is True
    assert summary["checks"]["dpo_not_worse_than_sft_on_task_success"] is True
    html = (tmp_path / "demo" / "report.html").read_text()
    assert "MultiWOZ-style table" in html and "<svg" in html and "<script" not in html
    assert "25.0" in html and "100.0" in html and "6.900" in html
    assert 'href="04_sft/run/config.yaml"' in html


@pytest.mark.slow
def test_fast_demo_end_to_end(run_cli, tmp_path):
    out = tmp_path / "demo"
    res = run_cli("demo", "--out", out, "--fast", "-q")
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["models"]) == {"base", "sft", "dpo"}
    assert summary["models"]["sft"]["eval_loss"] < summary["models"]["base"]["eval_loss"]
    for stage_dir in ("01_synth", "02_validate", "03_prepare", "04_sft", "05_mine", "06_dpo", "07_score"):
        assert (out / stage_dir / "stage.json").is_file()
    assert (out / "03_prepare" / "masks.html").is_file() and (out / "05_mine" / "pairs.jsonl").is_file()
    assert (out / "07_score" / "sft.pred.jsonl").is_file()
    assert "report.html" in res.output


def test_launcher_runs_a_subprocess_and_tees_its_output(tmp_path):
    import sys

    from dialogkit import __version__
    from dialogkit.demo.invoke import CommandError, run_launched

    log = tmp_path / "log.txt"
    run_launched([sys.executable], ["--version"], log, quiet=True)
    text = log.read_text()
    assert "-m dialogkit --version" in text and __version__ in text and "[exit 0]" in text
    with pytest.raises(CommandError, match="exited 2"):
        run_launched([sys.executable], ["train", "sft", "--output", str(tmp_path / "r")], log, quiet=True)
