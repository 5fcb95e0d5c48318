"""The demo's stages. Each runs real ``dialogkit`` commands into its own folder under DIR.

synth -> validate -> prepare (+ init-tiny) -> train sft -> mine -> train dpo -> score -> report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dialogkit.demo.config import STAGE_DIRS
from dialogkit.demo.invoke import run_command, run_launched
from dialogkit.demo.runner import Context, StageResult
from dialogkit.io import iter_records, write_jsonl

HELD_OUT_MARGIN = 1.5  # synthesize extra held-out dialogs so overlap with training can be dropped


def _run(ctx: Context, stage: str, res: StageResult, args: list[Any], ok: tuple[int, ...] = (0,)) -> str:
    args = [str(a) for a in args]
    res.commands.append(["dialogkit", *args])
    return run_command(ctx.group, args, ctx.dir(stage) / "log.txt", quiet=ctx.cfg.quiet, ok_codes=ok)


def _train(ctx: Context, stage: str, res: StageResult, args: list[Any]) -> None:
    """A training command, in-process or under ``--launcher`` (accelerate launch, torchrun)."""
    if not ctx.cfg.launcher:
        _run(ctx, stage, res, args)
        return
    import shlex

    launcher = shlex.split(ctx.cfg.launcher)
    args = [str(a) for a in args]
    res.commands.append([*launcher, "-m", "dialogkit", *args])
    run_launched(launcher, args, ctx.dir(stage) / "log.txt", quiet=ctx.cfg.quiet)


def _records(path: Path) -> list[dict[str, Any]]:
    return [r.data for r in iter_records(path) if r.ok]


def _user_key(rec: dict[str, Any]) -> str:
    return json.dumps([m.get("content") for m in rec["messages"] if m.get("role") == "user"], ensure_ascii=False)


# ------------------------------------------------------------------------------------- synth
def synth(ctx: Context) -> StageResult:
    from dialogkit.generate.state_text import state_in_reasoning

    cfg, d, res = ctx.cfg, ctx.dir("synth"), StageResult()
    scenario: str = cfg.scenario
    if scenario == "demo":
        from dialogkit.demo.scenario import write_scenario

        scenario = str(write_scenario(d / "scenario.yaml", cfg.variants).resolve())
        res.outputs["scenario"] = scenario
    n_eval = int(cfg.n_eval * HELD_OUT_MARGIN) + 2
    _run(ctx, "synth", res, ["synth", "--scenario", scenario, "--n", cfg.n_train, "--seed", cfg.train_seed,
                             "--out", d / "train.raw.jsonl"])
    _run(ctx, "synth", res, ["synth", "--scenario", scenario, "--n", n_eval, "--seed", cfg.eval_seed,
                             "--out", d / "heldout.raw.jsonl"])
    train = _records(d / "train.raw.jsonl")
    seen = {_user_key(r) for r in train}
    held = [r for r in _records(d / "heldout.raw.jsonl") if _user_key(r) not in seen]
    overlap = n_eval - len(held)
    held = held[: cfg.n_eval]
    if cfg.state_in_reasoning:
        train, held = [state_in_reasoning(r) for r in train], [state_in_reasoning(r) for r in held]
    write_jsonl(d / "train.jsonl", train)
    write_jsonl(d / "heldout.jsonl", held)
    res.outputs.update(train=str(d / "train.jsonl"), heldout=str(d / "heldout.jsonl"))
    res.facts = {"train": len(train), "heldout": len(held), "heldout_dropped_as_seen_in_train": overlap,
                 "scenario": scenario, "state_in_reasoning": cfg.state_in_reasoning}
    ctx.echo(f"  {len(train)} training and {len(held)} held-out dialogs ({overlap} held-out candidates "
             "dropped: same user turns as a training dialog)")
    return res


# ---------------------------------------------------------------------------------- validate
def validate(ctx: Context) -> StageResult:
    d, res = ctx.dir("validate"), StageResult()
    facts = {}
    for split in ("train", "heldout"):
        src = ctx.output("synth", split)
        out = _run(ctx, "validate", res, ["validate", src, "--out", d / f"{split}.jsonl",
                                          "--rejects", d / f"{split}.rejects.jsonl", "--format", "json"], ok=(0, 1))
        summary = _json_tail(out).get("summary", {})
        (d / f"{split}.report.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
        facts[split] = {k: summary.get(k) for k in ("dialogs", "clean", "rejected", "errors", "warnings")}
        res.outputs[split] = str(d / f"{split}.jsonl")
        res.outputs[f"{split}_report"] = str(d / f"{split}.report.json")
    res.facts = facts
    ctx.echo(f"  train: {facts['train']['clean']}/{facts['train']['dialogs']} clean; "
             f"held-out: {facts['heldout']['clean']}/{facts['heldout']['dialogs']} clean")
    return res


def _json_tail(text: str) -> dict[str, Any]:
    start = text.find("{")
    try:
        return json.loads(text[start:]) if start >= 0 else {}
    except json.JSONDecodeError:
        return {}


# ----------------------------------------------------------------------------------- prepare
def prepare(ctx: Context) -> StageResult:
    cfg, d, res = ctx.cfg, ctx.dir("prepare"), StageResult()
    train = ctx.output("validate", "train")
    if cfg.model:
        base = cfg.model
    else:
        t = cfg.tiny
        base = str(d / "base")
        _run(ctx, "prepare", res, ["model", "init-tiny", "--data", train, "--out", base, "--overwrite",
                                   "--vocab-size", t.vocab_size, "--hidden-size", t.hidden_size,
                                   "--layers", t.layers, "--heads", t.heads, "--kv-heads", t.kv_heads,
                                   "--intermediate-size", t.intermediate_size, "--chat-template", t.chat_template])
    out = _run(ctx, "prepare", res, ["prepare", train, "--tokenizer", base, "--out", d / "train.parquet",
                                     "--report", d / "prepare.json"])
    _run(ctx, "prepare", res, ["inspect", train, "--tokenizer", base, "--index", 0, "--html", d / "masks.html"])
    res.outputs.update(base=base, parquet=str(d / "train.parquet"), report=str(d / "prepare.json"),
                       masks=str(d / "masks.html"))
    res.facts = {"prepare": out.strip().splitlines()[:1]}
    return res


# ------------------------------------------------------------------------------------- train
def _sets(values: dict[str, Any]) -> list[str]:
    out = []
    for k, v in values.items():
        out += ["--set", f"{k}={str(v).lower() if isinstance(v, bool) else v}"]
    return out


def _train_summary(run: Path) -> dict[str, Any]:
    try:
        return json.loads((run / "summary.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _train_stage(ctx: Context, stage: str, model: Path, data: Path, sets: dict[str, Any]) -> StageResult:
    """``dialogkit train <stage>`` from ``model`` on ``data`` into ``DIR/NN_stage/run``."""
    d, res = ctx.dir(stage), StageResult()
    run = d / "run"
    _train(ctx, stage, res, ["train", stage, "--model", model, "--data", data, "--output", run, "--overwrite",
                             *_sets(sets)])
    res.outputs.update(run=str(run), config=str(run / "config.yaml"), metrics=str(run / "metrics.jsonl"))
    res.facts = {"summary": _train_summary(run)}
    return res


def sft(ctx: Context) -> StageResult:
    return _train_stage(ctx, "sft", ctx.output("prepare", "base"), ctx.output("validate", "train"), ctx.cfg.sft)


def mine(ctx: Context) -> StageResult:
    cfg, d, res = ctx.cfg, ctx.dir("mine"), StageResult()
    _run(ctx, "mine", res, ["mine", ctx.output("validate", "train"), "--out", d / "pairs.jsonl",
                            "--stats", d / "stats.json", "--strategies", ",".join(cfg.mine_strategies),
                            "--max-per-turn", cfg.mine_max_per_turn, "--seed", 0])
    stats = json.loads((d / "stats.json").read_text(encoding="utf-8"))
    res.outputs.update(pairs=str(d / "pairs.jsonl"), stats=str(d / "stats.json"))
    res.facts = {"pairs": stats.get("pairs"), "pairs_by_type": stats.get("pairs_by_type")}
    return res


def dpo(ctx: Context) -> StageResult:
    return _train_stage(ctx, "dpo", ctx.output("sft", "run"), ctx.output("mine", "pairs"), ctx.cfg.dpo)


# ------------------------------------------------------------------------------------- score
SUITE = """\
# The demo's scorer suite: tool calls (BFCL semantics), JSON validity, state tracking (SGD),
# behaviour, text overlap and dialog-level task success (MultiWOZ-style headline).
name: demo
version: 1
scorers:
  - name: tools
  - name: structured
  - name: state
    options: {fuzzy: true, across_turn: false}
  - name: behaviour
  - name: text
    options: {tokenize: auto}
  - name: task
headline: true
"""


def models_to_score(ctx: Context) -> list[tuple[str, str, list[str]]]:
    """``(name, model spec, extra score options)`` for base, sft, dpo (and the endpoint)."""
    out = [("base", str(ctx.output("prepare", "base")), []), ("sft", str(ctx.output("sft", "run")), []),
           ("dpo", str(ctx.output("dpo", "run")), [])]
    cfg = ctx.cfg
    if cfg.endpoint_model:
        extra = ["--base-url", cfg.base_url] if cfg.base_url else []
        out.append((f"endpoint:{cfg.endpoint_model}", f"openai:{cfg.endpoint_model}", extra))
    return out


def score(ctx: Context) -> StageResult:
    from dialogkit.demo.evalloss import heldout_nll
    from dialogkit.records import parse_dialog

    cfg, d, res = ctx.cfg, ctx.dir("score"), StageResult()
    suite = d / "suite.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    held = ctx.output("validate", "heldout")
    dialogs = [parse_dialog(r.data) for r in iter_records(held) if r.ok]
    scenario = (ctx.manifest("synth") or {}).get("outputs", {}).get("scenario")
    losses: dict[str, Any] = {}
    for name, spec, extra in models_to_score(ctx):
        slug = name.replace(":", "_").replace("/", "_")
        args = ["score", "dialogs", "--model", spec, "--ref", held, "--suite", suite,
                "--out", d / f"{slug}.json", "--html", d / f"{slug}.html", "--save-pred", d / f"{slug}.pred.jsonl",
                "--max-new-tokens", cfg.max_new_tokens, "--batch-size", cfg.gen_batch_size, *extra]
        if cfg.state_in_reasoning:
            args.append("--state-from-reasoning")
        if scenario:
            args += ["--scenario", scenario]
        ctx.echo(f"  scoring {name} on {len(dialogs)} held-out dialogs")
        _run(ctx, "score", res, args)
        res.outputs[f"{name}_report"] = str(d / f"{slug}.json")
        res.outputs[f"{name}_html"] = str(d / f"{slug}.html")
        res.outputs[f"{name}_pred"] = str(d / f"{slug}.pred.jsonl")
        if not spec.startswith("openai:"):
            losses[name] = heldout_nll(spec, dialogs)
    (d / "eval_loss.json").write_text(json.dumps(losses, indent=1), encoding="utf-8")
    res.outputs["eval_loss"] = str(d / "eval_loss.json")
    res.outputs["suite"] = str(suite)
    res.facts = {"eval_loss": {k: v["eval_loss"] for k, v in losses.items()}}
    return res


def report(ctx: Context) -> StageResult:
    from dialogkit.demo.report import write_report
    from dialogkit.demo.summary import build_summary

    res = StageResult()
    summary = build_summary(ctx)
    summary_path = ctx.root / "summary.json"
    html_path = ctx.root / "report.html"
    from dialogkit.io import AtomicWriter

    with AtomicWriter(summary_path) as fh:
        fh.write(json.dumps(summary, indent=1, ensure_ascii=False).encode())
    write_report(ctx, summary, html_path)
    res.outputs.update(summary=str(summary_path), html=str(html_path))
    res.facts = {"checks": summary.get("checks")}
    return res


FUNCS = {"synth": synth, "validate": validate, "prepare": prepare, "sft": sft, "mine": mine, "dpo": dpo,
         "score": score, "report": report}
assert set(FUNCS) == set(STAGE_DIRS)
