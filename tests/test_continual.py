"""Continual increments of `train sft`: --init-from, replay, KL / L2-SP, freezing, forgetting.json, lineage.

A tiny model learns booking dialogs (scenario A, 24 dialogs, 5 held out as dev) for a few steps;
increments then train on weather dialogs (scenario B). Runs are a few steps: these tests check
the mechanics (what is trained on, what is recorded, what fails); the learning effect itself is
checked by the slow test in test_continual_forgetting.py.
"""

from __future__ import annotations

import json

import pytest
import yaml
from train_support import booking_dialog, one_thread, write_jsonl  # noqa: F401  (fixture)

pytest.importorskip("trl")
pytestmark = pytest.mark.usefixtures("one_thread")

FAST = ["--set", "per_device_train_batch_size=4", "--set", "logging_steps=1", "--set", "save_steps=100",
        "--set", "learning_rate=3e-3", "--set", "forgetting_generate_dialogs=0"]
WEATHER_TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather forecast for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def weather_dialog(i: int) -> dict:
    city = ["Paris", "Rome", "Oslo", "Lima", "Cairo", "Tokyo"][i % 6]
    temp = 10 + i % 15
    return {"id": f"w{i}", "tools": WEATHER_TOOLS, "messages": [
        {"role": "user", "content": f"What is the weather in {city} tomorrow?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": f"t{i}", "name": "get_weather",
                                                             "arguments": {"city": city}}]},
        {"role": "tool", "tool_call_id": f"t{i}", "name": "get_weather", "content": {"temp_c": temp}},
        {"role": "assistant", "content": f"Tomorrow in {city}: {temp} degrees."},
    ]}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from dialogkit.train.tiny import TinyConfig, init_tiny_from_data

    d = tmp_path_factory.mktemp("continual")
    a = write_jsonl(d / "A.jsonl", [booking_dialog(i) for i in range(24)])
    b = write_jsonl(d / "B.jsonl", [weather_dialog(i) for i in range(12)])
    both = write_jsonl(d / "AB.jsonl", [booking_dialog(i) for i in range(24)] + [weather_dialog(i) for i in range(12)])
    init_tiny_from_data(str(both), d / "tiny", TinyConfig(seed=1), vocab_size=400)
    return {"dir": d, "A": a, "B": b, "model": d / "tiny"}


def _train(run_cli, *args):
    return run_cli("train", "sft", *args, *FAST)


@pytest.fixture(scope="module")
def base(env):
    from click.testing import CliRunner

    from dialogkit.cli import cli

    run = env["dir"] / "runs" / "base"
    res = CliRunner().invoke(cli, ["train", "sft", "--model", str(env["model"]), "--data", str(env["A"]),
                                   "--output", str(run), "--adapter", "full", "--set", "max_steps=4",
                                   "--set", "eval_fraction=0.2", *FAST], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return run


@pytest.fixture(scope="module")
def increment(env, base):
    """Replay 0.5 + KL from the base run (full fine-tuning inherited from it)."""
    from click.testing import CliRunner

    from dialogkit.cli import cli

    run = env["dir"] / "runs" / "inc"
    res = CliRunner().invoke(cli, ["train", "sft", "--init-from", str(base), "--data", str(env["B"]), "--output",
                                   str(run), "--replay", "0.5", "--regularize", "kl", "--set", "max_steps=3",
                                   "--set", "eval_fraction=0", *FAST[:-2], "--set", "forgetting_generate_dialogs=2"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return run, res


def test_increment_records_lineage_and_replay(env, base, increment):
    run, res = increment
    assert "forgetting: loss on earlier runs' data" in res.stdout
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["init_from"] == str(base) and cfg["model"] == str(base)
    assert cfg["adapter"] == "full"  # inherited from the base run, not the LoRA default
    assert cfg["replay"] == 0.5 and cfg["regularize"] == "kl"
    manifest = json.loads((run / "data_manifest.json").read_text())
    assert manifest["continual"]["parent"] == str(base.resolve())
    base_manifest = json.loads((base / "data_manifest.json").read_text())
    held = set(base_manifest["eval_ids"])
    assert len(held) == 5
    rep = manifest["replay"]
    # 12 new dialogs at a replay share of 0.5: 12 old ones, drawn from A's 19 training dialogs only
    assert (rep["requested"], rep["drawn"], rep["pool"]) == (12, 12, 19)
    (src,) = rep["sources"]
    assert src["path"] == str(env["A"].resolve()) and len(src["sha256"]) == 64
    assert not held & set(src["ids"]) and len(set(src["ids"])) == 12
    assert manifest["dialogs"]["replay"] == 12 and manifest["dialogs"]["train"] == 12
    assert [i["role"] for i in manifest["inputs"]] == ["train", "replay"]
    # every replayed dialog was trained on: 24 rows (12 new + 12 old)
    assert manifest["prepared"]["train"]["rows"] == 24
    kl = [m["kl"] for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "kl" in m]
    assert len(kl) == 3 and kl[0] == pytest.approx(0.0, abs=1e-6) and kl[-1] > 0  # starts at the previous model


def test_forgetting_json_before_is_the_parent_model(env, base, increment):
    """'before' equals the base run's own model measured independently; 'after' is the trained increment."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dialogkit.records import parse_dialog
    from dialogkit.train.continual.evaluate import teacher_forced

    run, _ = increment
    rep = json.loads((run / "forgetting.json").read_text())
    assert rep["format"] == "dialogkit.forgetting/1" and rep["lineage"] == [str(base.resolve())]
    old, new = rep["sets"]
    assert (old["role"], old["split"], old["name"], old["dialogs"]) == ("earlier", "dev", "base", 5)
    assert (new["role"], new["split"]) == ("new", "train")  # the increment held nothing out
    held = json.loads((base / "data_manifest.json").read_text())["eval_ids"]
    dialogs = [parse_dialog(booking_dialog(int(i[1:]))) for i in held]
    tok = AutoTokenizer.from_pretrained(base / "final")
    for folder, when in ((base / "final", "before"), (run / "final", "after")):
        model = AutoModelForCausalLM.from_pretrained(folder)
        got = teacher_forced(model, tok, dialogs, {})
        assert old[when]["loss"] == pytest.approx(got["loss"], rel=1e-4)
        assert old[when]["token_accuracy"] == pytest.approx(got["token_accuracy"], abs=1e-6)
    assert old["delta"]["loss"] == pytest.approx(old["after"]["loss"] - old["before"]["loss"])
    assert new["after"]["loss"] < new["before"]["loss"]  # it learned the new scenario
    # scorer metrics on generated turns: tool calls (the references call tools) and text overlap
    assert {"tool_name_accuracy", "bleu", "chrf"} <= set(old["before"]) and "loss" in rep["lower_is_better"]
    html = (run / "forgetting.html").read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html and "<script" not in html and "base" in html
    summary = json.loads((run / "summary.json").read_text())
    assert summary["forgetting"]["earlier_loss_after"] == pytest.approx(old["after"]["loss"])


def test_models_lineage_and_rollback_through_increments(env, base, increment, run_cli):
    root = base.parent
    res = run_cli("models", "list", "--root", root, "--format", "json")
    runs = {r["name"]: r for r in json.loads(res.stdout)["runs"]}
    assert runs["inc"]["lineage"]["parent"] == str(base.resolve()) and runs["inc"]["lineage"]["chain"] == ["base"]
    assert runs["base"]["lineage"]["parent"] is None
    res = run_cli("models", "show", "inc", "--root", root)
    assert "inc <- base <- " in res.stdout and "replay" in res.stdout
    assert run_cli("models", "promote", "base", "--root", root).exit_code == 0
    assert run_cli("models", "promote", "inc", "--root", root).exit_code == 0
    res = run_cli("models", "rollback", "--root", root)
    assert res.exit_code == 0 and "rolled back inc -> base" in res.stdout
    assert json.loads((root / "registry.json").read_text())["current"] == "base"
    assert (root / "current").resolve() == base.resolve()


def test_replay_source_changed_or_missing_fails_before_writing(env, base, run_cli, tmp_path):
    import shutil

    # a copy of the base run whose recorded training file is then edited / removed
    data = tmp_path / "A.jsonl"
    shutil.copy(env["A"], data)
    run = tmp_path / "base2"
    shutil.copytree(base, run)
    manifest = json.loads((run / "data_manifest.json").read_text())
    manifest["inputs"][0]["path"] = str(data)
    (run / "data_manifest.json").write_text(json.dumps(manifest))
    with data.open("a") as fh:
        fh.write(json.dumps(booking_dialog(99)) + "\n")
    res = _train(run_cli, "--init-from", run, "--data", env["B"], "--output", tmp_path / "x", "--replay", "0.3")
    assert res.exit_code == 1 and "REPLAY_SOURCE_CHANGED" in res.stderr and str(data) in res.stderr
    assert "file changed since the run recorded it" in res.stderr
    data.unlink()
    res = _train(run_cli, "--init-from", run, "--data", env["B"], "--output", tmp_path / "x", "--replay", "0.3")
    assert res.exit_code == 1 and "REPLAY_SOURCE_MISSING" in res.stderr
    assert not (tmp_path / "x").exists()
    # without replay the same increment is fine: the changed file is only reported for forgetting
    res = _train(run_cli, "--init-from", run, "--data", env["B"], "--output", tmp_path / "y", "--set", "max_steps=1")
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "y" / "forgetting.json").read_text())
    assert "DEV_SOURCE_MISSING" in rep["sets"][0]["skipped"] and "DEV_SOURCE_MISSING" in res.stderr


@pytest.mark.parametrize("args, text", [
    (["--model", "{model}", "--replay", "0.3"], "--replay needs earlier runs"),
    (["--init-from", "{base}", "--replay-from", "{base}"], "--replay-from needs --replay"),
    (["--init-from", "{model}"], "not a dialogkit run folder"),
    (["--init-from", "{base}", "--reg-strength", "2"], "--reg-strength needs --regularize"),
    (["--init-from", "{base}", "--replay", "1.5"], "replay"),
    (["--init-from", "{base}", "--freeze", "*no_such_layer*"], "matches no trainable parameter"),
    (["--init-from", "{base}", "--freeze", "first:x"], "expected first:N"),
    (["--init-from", "{base}", "--model", "{model}"], "name different models"),
])
def test_usage_errors(env, base, run_cli, tmp_path, args, text):
    args = [a.format(model=env["model"], base=base) for a in args]
    res = _train(run_cli, *args, "--data", env["B"], "--output", tmp_path / "r")
    assert res.exit_code == 2, res.output
    assert text in res.stderr
    assert not (tmp_path / "r").exists()


def test_lora_increment_kl_reference_is_the_frozen_base(env, base, run_cli, tmp_path):
    """A fresh LoRA adapter on the full base run: KL's reference is the base (adapter disabled); freezing works."""
    run = tmp_path / "lora"
    res = _train(run_cli, "--init-from", base, "--data", env["B"], "--output", run, "--adapter", "lora",
                 "--regularize", "kl", "--freeze", "first:1", "--set", "max_steps=3", "--set", "lora_r=4",
                 "--set", "eval_fraction=0")
    assert res.exit_code == 0, res.output
    kl = [m["kl"] for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "kl" in m]
    assert kl[0] == pytest.approx(0.0, abs=1e-7) and kl[-1] > 0
    summary = json.loads((run / "summary.json").read_text())
    frozen = summary["continual"]["freeze"]
    assert frozen["frozen_tensors"] > 0 and frozen["trainable_params"] > 0
    from safetensors.torch import load_file

    weights = load_file(str(run / "final" / "adapter_model.safetensors"))
    # layer 0's adapter never moved: its lora_B is still all zeros, layer 1's is not
    assert all(not v.any() for k, v in weights.items() if "layers.0." in k and "lora_B" in k)
    assert any(v.any() for k, v in weights.items() if "layers.1." in k and "lora_B" in k)


def test_l2sp_gradient_and_freeze_units():
    import torch

    from dialogkit.errors import UsageError
    from dialogkit.train.continual.regularize import L2SP, freeze, match_freeze

    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 1))
    cb = L2SP(model, strength=0.5)
    anchor = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
            p.grad = torch.zeros_like(p)
    cb.on_pre_optimizer_step(None, None, None)
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad, 0.5 * (p.detach() - anchor[n]))
    assert cb.distance() == pytest.approx(sum(p.numel() for p in model.parameters()) ** 0.5, rel=1e-5)
    assert freeze(model, ["0.*"])["frozen_tensors"] == 2 and not model[0].weight.requires_grad
    with pytest.raises(UsageError, match="leaves nothing to train"):
        match_freeze(model, ["*"])


def test_kl_loss_units():
    """KL(previous || current) on label tokens only, normalized like the cross-entropy; eval gets plain CE."""
    import copy

    import torch
    from transformers.loss.loss_utils import ForCausalLMLoss

    from dialogkit.train.continual.regularize import KLToPrevious

    torch.manual_seed(0)
    policy = torch.nn.Sequential(torch.nn.Embedding(11, 11))

    class Out(dict):
        @property
        def logits(self):
            return self["logits"]

    class Wrap(torch.nn.Module):  # a model returning outputs with .logits
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids=None):
            return Out(logits=self.inner(input_ids))

    cur, prev = Wrap(policy), Wrap(copy.deepcopy(policy))
    with torch.no_grad():
        prev.inner[0].weight.add_(torch.randn(11, 11))
    kl = KLToPrevious(prev, strength=2.0)
    kl.attach(cur)
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    labels = torch.tensor([[-100, -100, 3, 4, 5]])
    out = cur(input_ids=ids)
    loss = kl(out, labels, num_items_in_batch=None)
    ce = ForCausalLMLoss(out.logits, labels, vocab_size=11)
    lp = torch.log_softmax(out.logits[0, 1:4], -1)
    rp = torch.log_softmax(prev(input_ids=ids).logits[0, 1:4], -1)
    want = (rp.exp() * (rp - lp)).sum() / 3
    assert float(loss) == pytest.approx(float(ce + 2.0 * want), rel=1e-5)
    assert kl.values[-1] == pytest.approx(float(want), rel=1e-5)
    cur.eval()
    assert float(kl(cur(input_ids=ids), labels)) == pytest.approx(float(ce), rel=1e-6)


def test_replay_draw_units(env, base):
    from dialogkit.train.continual.lineage import lineage, replay_files
    from dialogkit.train.continual.replay import draw, replay_count

    assert [replay_count(n, f) for n, f in ((10, 0), (10, 0.5), (10, 0.2), (3, 0.01))] == [0, 10, 2, 1]
    recs = lineage(base)
    files = replay_files(recs)
    a = draw(files, recs, 4, 0.5, seed=1)
    b = draw(files, recs, 4, 0.5, seed=1)
    c = draw(files, recs, 100, 0.5, seed=1)
    assert [d.id for d in a.dialogs] == [d.id for d in b.dialogs] and len(a.dialogs) == 4
    assert len(c.dialogs) == 19 and c.issues[0].code == "REPLAY_CAPPED" and c.issues[0].severity == "warning"


def test_help_lists_continual_options(run_cli):
    out = run_cli("train", "sft", "--help").stdout
    for opt in ("--init-from", "--replay", "--replay-from", "--regularize", "--reg-strength", "--freeze"):
        assert opt in out


def test_output_may_not_be_the_parent_run(env, base, run_cli):
    res = _train(run_cli, "--init-from", base, "--data", env["B"], "--output", base, "--overwrite")
    assert res.exit_code == 2 and "write the increment to a new folder" in res.stderr
    assert (base / "final" / "config.json").is_file()  # --overwrite did not delete the parent


def test_resume_an_increment_keeps_its_starting_point(env, base, run_cli, tmp_path):
    """--resume reads init_from back from config.yaml: same replay mix, same 'before', L2-SP anchored at the parent."""
    run = tmp_path / "l2"
    res = _train(run_cli, "--init-from", base, "--data", env["B"], "--output", run, "--regularize", "l2sp",
                 "--replay", "0.2", "--set", "max_steps=2", "--set", "save_steps=2", "--set", "eval_fraction=0",
                 "--set", "lr_scheduler_type=constant")
    assert res.exit_code == 0, res.output
    first = json.loads((run / "forgetting.json").read_text())
    drawn = json.loads((run / "data_manifest.json").read_text())["replay"]["sources"][0]["ids"]
    res = run_cli("train", "sft", "--output", run, "--resume", "--set", "max_steps=3")
    assert res.exit_code == 0, res.output
    assert "to step 3 (resumed at step 2)" in res.stdout
    again = json.loads((run / "forgetting.json").read_text())
    assert again["sets"][0]["before"]["loss"] == pytest.approx(first["sets"][0]["before"]["loss"], rel=1e-6)
    assert json.loads((run / "data_manifest.json").read_text())["replay"]["sources"][0]["ids"] == drawn
    dist = [m["l2sp_distance"] for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if "l2sp_distance" in m]
    # measured from the parent, not from the checkpoint: the distance keeps growing across the resume
    assert len(dist) == 3 and dist[2] > dist[1] > dist[0] > 0
