"""TrainConfig: YAML + --set routing, unknown keys named, resolved config round-trips; run-folder rules."""

from __future__ import annotations

import json

import pytest
import yaml

from dialogkit.errors import InputError, UsageError
from dialogkit.train.callbacks import read_metrics, truncate_metrics
from dialogkit.train.config import dump_config, load_config, parse_sets, parse_value
from dialogkit.train.run import prepare_run_dir


def test_parse_value_types():
    assert parse_value("1e-4") == pytest.approx(1e-4)
    assert parse_value("8") == 8
    assert parse_value("true") is True
    assert parse_value("[q_proj, v_proj]") == ["q_proj", "v_proj"]
    assert parse_value("cosine") == "cosine"
    assert parse_value("null") is None


def test_sets_route_to_own_prepare_and_trl_fields(tmp_path):
    cfg = load_config("sft", sets=parse_sets([
        "adapter=dora", "lora_r=4", "max_steps=7", "learning_rate=3e-4",
        "per_device_train_batch_size=2", "prepare.max_length=256", "training.eval_steps=5",
    ]))
    assert cfg.adapter == "dora" and cfg.lora_r == 4
    assert cfg.training == {"max_steps": 7, "learning_rate": 3e-4, "per_device_train_batch_size": 2, "eval_steps": 5}
    assert cfg.prepare == {"max_length": 256}


def test_prepare_field_by_bare_name():
    pytest.importorskip("dialogkit.prepare.config")
    from dialogkit.train.config import prepare_field_names

    if "max_length" not in prepare_field_names():
        pytest.skip("PrepareConfig not exported yet")
    cfg = load_config("sft", sets={"max_length": 512, "pack": True})
    assert cfg.prepare == {"max_length": 512, "pack": True}


def test_yaml_then_set_override_and_float_fix(tmp_path):
    p = tmp_path / "run.yaml"
    p.write_text("adapter: lora\nlearning_rate: 1e-4\ntraining:\n  max_steps: 10\n  logging_steps: 2\n")
    cfg = load_config("sft", yaml_path=p, sets={"max_steps": 20})
    assert cfg.training == {"learning_rate": 1e-4, "max_steps": 20, "logging_steps": 2}
    # the dumped config loads back to the same thing
    again = tmp_path / "again.yaml"
    again.write_text(dump_config(cfg))
    assert load_config("sft", yaml_path=again) == cfg


@pytest.mark.parametrize("sets, name", [
    ({"lora_rr": 8}, "lora_rr"),
    ({"training.max_stepz": 8}, "training.max_stepz"),
    ({"learnin_rate": 1.0}, "learnin_rate"),
])
def test_unknown_key_is_named(sets, name):
    with pytest.raises(UsageError) as e:
        load_config("sft", sets=sets)
    assert name in str(e.value) and e.value.exit_code == 2


def test_unknown_key_suggests():
    with pytest.raises(UsageError, match="Did you mean: learning_rate"):
        load_config("sft", sets={"learnin_rate": 1.0})


def test_method_specific_trl_keys():
    assert load_config("dpo", sets={"beta": 0.2}).training == {"beta": 0.2}
    assert load_config("simpo", sets={"simpo_gamma": 0.3}).training == {"simpo_gamma": 0.3}
    with pytest.raises(UsageError, match="simpo_gamma"):
        load_config("sft", sets={"simpo_gamma": 0.3})


def test_bad_value_and_reserved_keys():
    with pytest.raises(UsageError, match="adapter"):
        load_config("sft", sets={"adapter": "lorra"})
    with pytest.raises(UsageError, match="output_dir"):
        load_config("sft", sets={"output_dir": "x"})
    with pytest.raises(UsageError, match="key=value"):
        parse_sets(["oops"])


def test_yaml_errors(tmp_path):
    with pytest.raises(InputError):
        load_config("sft", yaml_path=tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(UsageError, match="mapping"):
        load_config("sft", yaml_path=bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump({"method": "dpo"}))
    with pytest.raises(UsageError, match="method"):
        load_config("sft", yaml_path=wrong)


def test_run_dir_rules(tmp_path):
    run = tmp_path / "run"
    assert prepare_run_dir(run, resume=False, overwrite=False) is None  # fresh
    run.mkdir()
    (run / "x.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not empty"):
        prepare_run_dir(run, resume=False, overwrite=False)
    with pytest.raises(Exception, match="not a dialogkit run"):
        prepare_run_dir(run, resume=False, overwrite=True)
    assert (run / "x.txt").exists()  # never deleted
    with pytest.raises(UsageError, match="nothing to resume"):
        prepare_run_dir(run, resume=True, overwrite=False)
    ck = run / "checkpoints" / "checkpoint-4"
    ck.mkdir(parents=True)
    (ck / "trainer_state.json").write_text(json.dumps({"global_step": 4}))
    assert prepare_run_dir(run, resume=True, overwrite=False) == ck


def test_truncate_metrics(tmp_path):
    p = tmp_path / "metrics.jsonl"
    p.write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in (2, 4, 6, 8)))
    truncate_metrics(p, 4)
    assert [r["step"] for r in read_metrics(p)] == [2, 4]
