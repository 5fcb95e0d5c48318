"""``dialogkit mine``: preference pairs with checker-verified negatives, and on-policy pairs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dialogkit.errors import UsageError

MAX_SHOWN = 20


def _strategy_list(value: str | None) -> list[str] | None:
    if value is None or value.strip() in ("", "all"):
        return None
    if value.strip() == "none":
        return []
    return [s.strip() for s in value.split(",") if s.strip()]


def _print_strategies() -> None:
    from dialogkit.mine import STRATEGIES

    for name in STRATEGIES.names():
        cls = STRATEGIES.get(name)
        click.echo(f"{name:24s} {getattr(cls, 'description', '')}")
        click.echo(f"{'':24s} verified by: {', '.join(getattr(cls, 'targets', ()))}")


def _print_stats(report: Any, out: Path, stats_path: Path | None) -> None:
    s = report.stats
    rows = s.rows()
    click.echo(f"{'type':24s} {'pairs':>6s} {'proposed':>9s}  dropped (reason count)", err=True)
    for kind, pairs, proposed, drops in rows:
        click.echo(f"{kind:24s} {pairs:6d} {proposed:9d}  {drops}", err=True)
    turns = ", ".join(f"{k}:{v}" for k, v in sorted(s.by_turn.items()))
    click.echo(f"pairs by assistant turn: {turns or '-'}", err=True)
    ln = s.length_summary()
    if ln.get("pairs"):
        click.echo(
            f"length: chosen longer {ln['chosen_longer']:.1%}, rejected longer {ln['rejected_longer']:.1%}, "
            f"equal {ln['equal']:.1%}; rejected/chosen ratio mean {ln['mean_ratio']:.2f}, "
            f"median {ln['median_ratio']:.2f}",
            err=True,
        )
    for kind, msg in s.errors.items():
        click.echo(f"warning: {kind}: {msg}", err=True)
    extra = f"; stats in {stats_path}" if stats_path else ""
    click.echo(
        f"wrote {report.pairs} pairs from {s.dialogs} dialogs ({s.turns} assistant turns) to {out}{extra}",
        err=True,
    )


@click.command()
@click.argument(
    "inp", metavar="IN", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pairs file (.jsonl or .jsonl.gz), written atomically; never an input.",
)
@click.option(
    "--strategies", metavar="S,...", help="Negative strategies (default all; 'none' = on-policy only)."
)
@click.option("--list-strategies", is_flag=True, help="List the registered strategies and exit.")
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["dialogkit", "trl"]),
    default="dialogkit",
    show_default=True,
    help="dialogkit PreferencePair JSONL, or TRL's conversational preference rows.",
)
@click.option(
    "--from", "in_format", default="dialogkit", show_default=True, help="Input format (see convert)."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same pairs.")
@click.option(
    "--stats",
    "stats_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write counts, drops and length bias as JSON.",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write bad input records with their issues (JSONL).",
)
@click.option(
    "--length-match",
    type=click.FloatRange(min=1.0, min_open=True),
    metavar="R",
    help="Drop pairs whose rejected/chosen length ratio is outside [1/R, R].",
)
@click.option(
    "--max-per-turn", type=click.IntRange(min=1), help="At most this many pairs per turn (seeded choice)."
)
@click.option("--strict-chosen", is_flag=True, help="Drop pairs whose chosen turn fails any check.")
@click.option(
    "--trl-arguments",
    type=click.Choice(["string", "object"]),
    default="string",
    show_default=True,
    help="--format trl: tool-call arguments as JSON strings or objects.",
)
@click.option("--policy", metavar="MODEL", help="On-policy: a local model/run folder or openai:NAME.")
@click.option("--policy-base-url", metavar="URL", help="OpenAI-compatible endpoint of the policy.")
@click.option("--k", "k", type=click.IntRange(min=2), default=4, show_default=True, help="Samples per turn.")
@click.option("--temperature", type=click.FloatRange(min=0.0), default=0.8, show_default=True)
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--labels", metavar="L,...", help="On-policy: only turns with these expected labels.")
@click.option(
    "--pick-rejected",
    type=click.Choice(["hardest", "worst"]),
    default="hardest",
    show_default=True,
    help="On-policy: the best-ranked clearly worse sample, or the worst one.",
)
@click.option("--no-gold-fallback", is_flag=True, help="On-policy: never use the gold turn as chosen.")
@click.option(
    "--edit-chosen",
    is_flag=True,
    help="On-policy: when the rejected sample differs from the chosen only in values (state line, "
    "call arguments), choose that sample with its values corrected (a minimal-edit pair).",
)
@click.option("--judge", metavar="MODEL", help="On-policy: an LLM judge (OpenAI-compatible model name).")
@click.option("--judge-base-url", metavar="URL", help="Endpoint of the judge.")
@click.option(
    "--judge-cache", type=click.Path(file_okay=False, path_type=Path), help="Judge reply cache folder."
)
@click.option("--quiet", "-q", is_flag=True, help="No table, only errors.")
def mine(
    inp: Path | None,
    out: Path | None,
    strategies: str | None,
    list_strategies: bool,
    out_format: str,
    in_format: str,
    seed: int,
    stats_path: Path | None,
    rejects_path: Path | None,
    length_match: float | None,
    max_per_turn: int | None,
    strict_chosen: bool,
    trl_arguments: str,
    policy: str | None,
    policy_base_url: str | None,
    k: int,
    temperature: float,
    max_new_tokens: int,
    labels: str | None,
    pick_rejected: str,
    no_gold_fallback: bool,
    edit_chosen: bool,
    judge: str | None,
    judge_base_url: str | None,
    judge_cache: Path | None,
    quiet: bool,
) -> None:
    """Mine preference pairs at every assistant turn of IN.

    Rule-based negatives are small edits of the gold turn (wrong but schema-valid tool
    arguments, a missing call, unsupported facts, skipped clarification, over-/missed refusal,
    verbose, repetitive or off-topic replies, broken JSON); each is kept only when its rejected
    turn fails a scorer metric that the chosen turn passes. With --policy, k samples per turn
    are ranked by the same scorers (and --judge) and the best is paired with a clearly worse one.

    \b
    Examples:
      dialogkit mine dialogs.jsonl --out pairs.jsonl --stats stats.json
      dialogkit mine dialogs.jsonl --out pairs.jsonl --strategies wrong_tool_args,skipped_clarification
      dialogkit mine dialogs.jsonl --out trl.jsonl --format trl --length-match 1.5
      dialogkit mine dialogs.jsonl --out op.jsonl --strategies none --policy runs/sft --k 4
      dialogkit mine dialogs.jsonl --out op.jsonl --strategies none --policy runs/sft --edit-chosen
      dialogkit mine dialogs.jsonl --out op.jsonl --policy openai:qwen3 --policy-base-url http://127.0.0.1:8000/v1
      dialogkit mine --list-strategies

    Pairs hold the exact history (prompt = messages[:turn]), the gold turn as chosen, the
    rejected turn, the tools, and metadata (negative_type, turn, source_id, edit, verified_by,
    provenance). Bad input records are reported as file:line: record id: path: message (CODE),
    the rest is mined, and the exit code is 1.
    """
    if list_strategies:
        _print_strategies()
        return
    if inp is None or out is None:
        raise UsageError("give IN and --out (or --list-strategies)")
    from dialogkit.mine import MineConfig, mine_file
    from dialogkit.mine.onpolicy import OnPolicyConfig
    from dialogkit.mine.runner import resolve_strategies

    names = _strategy_list(strategies)
    resolve_strategies(names)  # unknown names fail now, before a model is loaded
    onpolicy = backend = judge_scorer = None
    if policy:
        onpolicy = OnPolicyConfig(
            k=k,
            temperature=temperature,
            max_new_tokens=max_new_tokens,
            pick_rejected=pick_rejected,
            gold_fallback=not no_gold_fallback,
            edit_chosen=edit_chosen,
            labels=_strategy_list(labels),
        )
        from dialogkit.generate import load_backend

        backend = load_backend(policy, base_url=policy_base_url)
    elif judge or labels or edit_chosen:
        raise UsageError("--judge, --labels and --edit-chosen are on-policy options: give --policy MODEL too")
    if names == [] and not policy:
        raise UsageError("--strategies none leaves nothing to mine without --policy")
    if judge:
        from dialogkit.score.base import make_scorer

        options: dict[str, Any] = {"model": judge.removeprefix("openai:"), "base_url": judge_base_url}
        if judge_cache is not None:
            options["cache_dir"] = str(judge_cache)
        judge_scorer = make_scorer("judge", options)
    config = MineConfig(
        strategies=names,
        seed=seed,
        input_format=in_format,
        output_format=out_format,
        trl_arguments=trl_arguments,
        length_match=length_match,
        max_per_turn=max_per_turn,
        strict_chosen=strict_chosen,
        onpolicy=onpolicy,
    )
    report = mine_file(
        inp,
        out,
        config,
        stats_path=stats_path,
        rejects_path=rejects_path,
        backend=backend,
        judge=judge_scorer,
    )
    for issue in report.issues[:MAX_SHOWN]:
        click.echo(issue.format(), err=True)
    if len(report.issues) > MAX_SHOWN:
        click.echo(f"... and {len(report.issues) - MAX_SHOWN} more issue(s) (see --rejects)", err=True)
    if not quiet:
        _print_stats(report, out, stats_path)
    if report.bad_records:
        click.echo(f"{report.bad_records} bad record(s); see the messages above", err=True)
        sys.exit(1)
