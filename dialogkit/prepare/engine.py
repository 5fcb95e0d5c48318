"""One dialog -> training rows with exact masks (the core of ``dialogkit prepare``).

Mode per dialog:

* ``single``: one row; every trained turn is a span of the full render. Used when the
  template is prefix-stable for this dialog and no token crosses a prompt boundary.
* ``per_turn``: one row per trained turn; the row is the tokenized inference prompt
  ``render(messages[:i], add_generation_prompt=True)`` followed by the turn. Used for
  templates that are not prefix-stable (Qwen3's think blocks) and boundary merges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogkit.errors import Issue, RecordError, UsageError
from dialogkit.prepare.config import PrepareConfig
from dialogkit.prepare.encode import PieceEncoder, prefix_matches
from dialogkit.prepare.render import Renderer, template_inputs, template_vars
from dialogkit.prepare.rows import Row, make_row
from dialogkit.prepare.spans import (
    CharSpan,
    TokenSpan,
    attribute_generation,
    completion_spans,
    no_tokens_issue,
    not_prefix_issue,
    render_turn,
    to_token_span,
)
from dialogkit.prepare.stability import Stability, template_stability
from dialogkit.prepare.truncate import Context, Summarizer, Turns, build_context, fit, metadata_summary, split_turns
from dialogkit.schema import Dialog


@dataclass
class Built:
    """Rows for one context, and what happened while building them."""

    rows: list[Row] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    per_turn: bool = False
    unstable: bool = False
    merges: int = 0
    skipped: int = 0  # trained turns that got no row (prompt not a prefix, no tokens)


@dataclass
class _Layout:
    text: str
    spans: list[CharSpan]


def resolve_template(tokenizer: Any, chat_template: str | None) -> str:
    """``chat_template`` if given, else the tokenizer's own (its default when it has several)."""
    if chat_template:
        return chat_template
    tpl = getattr(tokenizer, "chat_template", None)
    if isinstance(tpl, dict):
        tpl = tpl.get("tool_use") or tpl.get("default")
    if not tpl:
        raise UsageError("the tokenizer has no chat template; pass --chat-template FILE")
    return tpl


class Preparer:
    """Turns dialogs into rows with one tokenizer, template and config (reuse it: it caches)."""

    def __init__(
        self,
        tokenizer: Any,
        config: PrepareConfig,
        chat_template: str | None = None,
        summarizer: Summarizer | None = None,
        reference: bool = False,
    ):
        # reference=True: stock Jinja sandbox and whole-text tokenization, no caches; the fast
        # path must give the same rows (tests/test_prepare_fast.py)
        self.config = config
        self.tokenizer = tokenizer
        variables = {**template_vars(tokenizer), **config.chat_template_kwargs}
        self.renderer = Renderer(resolve_template(tokenizer, chat_template), variables, fast=not reference)
        self.encoder = PieceEncoder(tokenizer, cache=not reference)
        self.summarizer = summarizer
        self.tagged = self.renderer.tagged
        # Untagged templates are checked per dialog by prefix rendering; tagged ones once here.
        self.stability = template_stability(self.renderer) if self.tagged else Stability(None, "checked per dialog")

    # ------------------------------------------------------------------ selection
    def wanted(self, dialog: Dialog) -> set[int]:
        """Dialog indices of the messages to train, by policy; a message's ``train`` flag wins."""
        msgs = dialog.messages
        last = max((i for i, m in enumerate(msgs) if m.role == "assistant"), default=None)
        out = set()
        for i, m in enumerate(msgs):
            if m.train is not None:
                keep = m.train
            elif self.config.loss_on == "all":
                keep = True
            elif self.config.loss_on == "last":
                keep = i == last
            else:
                keep = m.role == "assistant"
            if keep:
                out.add(i)
        return out

    # ------------------------------------------------------------------ entry point
    def prepare(self, dialog: Dialog) -> tuple[list[Row], list[Issue], dict[str, int]]:
        """Rows of one dialog, warnings, and counters for the report.

        Raises:
            RecordError: the dialog can't be rendered or trains nothing.
        """
        messages, tools = template_inputs(dialog)
        wanted = self.wanted(dialog)
        if not wanted:
            raise RecordError([Issue("NO_TRAINED_TURNS", "no message is trained under this loss policy")])
        turns = split_turns(messages)
        ctx = build_context(messages, tools, turns)
        built = self.build(ctx, wanted, dialog.id)
        stats = {"truncated": 0, "dropped_turns": 0, "lost": 0, "summaries": 0, "too_long": 0}
        if self.config.max_length is not None:
            built = self._truncate(dialog, messages, tools, turns, wanted, built, stats)
        rows = [r for r in built.rows if self._nonempty(r, built)]
        if not rows and not built.issues:
            raise RecordError([Issue("NO_TRAINED_TOKENS", "no row with trained tokens")])
        stats.update(per_turn=int(built.per_turn), unstable=int(built.unstable), merges=built.merges,
                     skipped=built.skipped)
        return rows, built.issues, stats

    def _nonempty(self, row: Row, built: Built) -> bool:
        if row.labels.count(-100) < len(row.labels):
            return True
        built.issues.append(Issue("NO_TRAINED_TOKENS", "a row has no trained tokens; not written", severity="warning"))
        return False

    # ------------------------------------------------------------------ modes
    def build(self, ctx: Context, wanted: set[int], dialog_id: str) -> Built:
        """Rows for ``ctx``; ``wanted`` holds dialog indices."""
        local = [k for k, i in enumerate(ctx.index) if i is not None and i in wanted]
        if self.config.loss_on == "all":
            return Built([self._all_row(ctx, local, dialog_id)])
        if not local:
            return Built()
        if self.config.per_turn == "always":
            return self._per_turn(ctx, local, dialog_id)
        layout, reason = self._layout(ctx, local)
        if layout is None:
            if self.config.per_turn == "auto":
                built = self._per_turn(ctx, local, dialog_id)
                built.unstable = True
                return built
            layout = self._fallback_layout(ctx, local)
            issue = Issue("TEMPLATE_NOT_PREFIX_STABLE", f"{reason}; --per-turn never keeps one row, so trained "
                          "turns see a context that differs from inference", severity="warning")
            built = self._single(ctx, layout, dialog_id)
            built.issues.insert(0, issue)
            built.unstable = True
            return built
        built = self._single(ctx, layout, dialog_id)
        if built.merges and self.config.per_turn == "auto":
            merges = built.merges
            built = self._per_turn(ctx, local, dialog_id)
            built.merges += merges
        return built

    def _layout(self, ctx: Context, local: list[int]) -> tuple[_Layout | None, str | None]:
        """Char spans of the trained messages in the full render, or (None, why not)."""
        msgs, tools = ctx.messages, ctx.tools
        if self.tagged and self.stability.stable:
            full = self.renderer.render(msgs, tools, track=True)
            tagged = attribute_generation(full.generation, msgs)
            if tagged is None:
                if any(msgs[k]["role"] != "assistant" for k in local) or self._partial(msgs, local):
                    raise RecordError([Issue("GENERATION_BLOCKS_MISMATCH", f"the template has {len(full.generation)}"
                                             " generation blocks for this dialog, not one per assistant message")])
                return _Layout(full.text, [CharSpan(-1, s, e) for s, e in full.generation]), None
            spans = [s for s in tagged if s.msg in local]
            for k in local:
                if msgs[k]["role"] != "assistant":
                    turn = render_turn(self.renderer, msgs, tools, k)
                    if not (turn.prompt_is_prefix and full.text.startswith(turn.full)):
                        return None, f"messages[{k}] renders differently inside the conversation"
                    spans.append(CharSpan(k, len(turn.prompt), len(turn.full)))
            return _Layout(full.text, sorted(spans, key=lambda s: s.start)), None
        text = self.renderer.render(msgs, tools).text
        spans = []
        for k in local:
            turn = render_turn(self.renderer, msgs, tools, k)
            if not turn.prompt_is_prefix:
                return None, f"messages[{k}]: the inference prompt is not a prefix of the turn"
            if not text.startswith(turn.full):
                return None, f"messages[{k}]: the turn renders differently inside the conversation than as the last turn"
            spans += [CharSpan(k, s, e) for s, e in completion_spans(turn, self.tagged)]
        return _Layout(text, spans), None

    @staticmethod
    def _partial(msgs: list[dict[str, Any]], local: list[int]) -> bool:
        return any(m["role"] == "assistant" and k not in local for k, m in enumerate(msgs))

    def _fallback_layout(self, ctx: Context, local: list[int]) -> _Layout:
        """Best-effort spans in a render that is not prefix-stable (``--per-turn never``).

        Tagged: the generation blocks. Untagged: each turn starts where its inference prompt
        matches the full render and ends at the first end-of-turn marker after it.
        """
        msgs, tools = ctx.messages, ctx.tools
        full = self.renderer.render(msgs, tools, track=self.tagged)
        if self.tagged:
            tagged = attribute_generation(full.generation, msgs) or []
            return _Layout(full.text, [s for s in tagged if s.msg in local])
        spans = []
        for k in local:
            turn = render_turn(self.renderer, msgs, tools, k)
            start = _common_prefix(full.text, turn.prompt)
            tail = _end_marker(turn.full[len(turn.prompt):])
            end = full.text.find(tail, start) + len(tail) if tail else -1
            if start == len(turn.prompt) and end > start:
                spans.append(CharSpan(k, start, end))
        return _Layout(full.text, spans)

    def _single(self, ctx: Context, layout: _Layout, dialog_id: str) -> Built:
        enc = self.encoder.encode(layout.text)
        built = Built()
        tspans: list[TokenSpan] = []
        for span in layout.spans:
            t = to_token_span(enc, span)
            if t is None:
                built.issues.append(no_tokens_issue(ctx.index[span.msg] if span.msg >= 0 else -1))
                continue
            if span.msg >= 0 and not prefix_matches(enc, t.start, span.start, layout.text, self.encoder):
                built.merges += 1
            tspans.append(t)
        built.rows.append(make_row(enc.ids, tspans, dialog_id, ctx))
        return built

    def _per_turn(self, ctx: Context, local: list[int], dialog_id: str) -> Built:
        built = Built(per_turn=True)
        for k in local:
            row, merged, issue = self.turn_row(ctx, k, dialog_id)
            built.merges += merged
            if issue is not None:
                built.issues.append(issue)
                built.skipped += 1
            if row is not None:
                built.rows.append(row)
        return built

    def turn_row(self, ctx: Context, k: int, dialog_id: str) -> tuple[Row | None, int, Issue | None]:
        """The row training message ``k`` of ``ctx``: inference prompt, then the turn."""
        turn = render_turn(self.renderer, ctx.messages, ctx.tools, k)
        if not turn.prompt_is_prefix:
            return None, 0, not_prefix_issue(_dialog_index(ctx, k))
        prompt_ids = self.encoder.encode(turn.prompt).ids
        full = self.encoder.encode(turn.full)
        merged = 0
        char_spans = [CharSpan(k, s, e) for s, e in completion_spans(turn, self.tagged)]
        if full.ids[: len(prompt_ids)] == prompt_ids and prefix_matches(
            full, len(prompt_ids), len(turn.prompt), turn.full, self.encoder
        ):
            ids, enc, shift = full.ids, full, 0
        else:  # a token merges across the boundary: keep the inference prompt's own tokens
            merged = 1
            enc = self.encoder.encode(turn.full[len(turn.prompt):])
            ids, shift = prompt_ids + enc.ids, len(prompt_ids)
            char_spans = [CharSpan(k, s - len(turn.prompt), e - len(turn.prompt)) for s, e in
                          ((c.start, c.end) for c in char_spans)]
        tspans = []
        for span in char_spans:
            t = to_token_span(enc, span)
            if t is not None:
                tspans.append(TokenSpan(k, max(t.start + shift, len(prompt_ids)), t.end + shift))
        if not tspans:
            return None, merged, no_tokens_issue(_dialog_index(ctx, k))
        row_ctx = Context(ctx.messages[: k + 1], ctx.tools, ctx.index[: k + 1], ctx.dropped_turns, ctx.summary,
                          ctx.dropped)
        return make_row(ids, tspans, dialog_id, row_ctx), merged, None

    def _all_row(self, ctx: Context, local: list[int], dialog_id: str) -> Row:
        """Every token trained, except messages whose ``train`` flag is false."""
        text = self.renderer.render(ctx.messages, ctx.tools).text
        enc = self.encoder.encode(text)
        keep = set(local)
        spans = [TokenSpan(-1, 0, len(enc.ids))]
        row = make_row(enc.ids, spans, dialog_id, ctx)
        for k in range(len(ctx.messages)):
            if k in keep:
                continue
            turn = render_turn(self.renderer, ctx.messages, ctx.tools, k)
            start = len(self.renderer.render(ctx.messages[:k], ctx.tools).text) if k else 0
            if not text.startswith(turn.full) or not text.startswith(turn.prompt):
                raise RecordError([Issue("TRAIN_FLAG_UNLOCATABLE", "the message with train=false can't be located "
                                         "in a template that is not prefix-stable", path=f"messages[{ctx.index[k]}]")])
            t = to_token_span(enc, CharSpan(k, start, len(turn.full)))
            if t is not None:
                row.labels[t.start : t.end] = [-100] * (t.end - t.start)
        row.turn = None
        return row

    # ------------------------------------------------------------------ truncation
    def _summary(self, dialog: Dialog, dropped: list[int]) -> str | None:
        if not self.config.summary:
            return None
        if self.summarizer is not None:
            return self.summarizer(dialog, [dialog.messages[i] for i in dropped])
        return metadata_summary(dialog, self.config.summary_key)

    def _context(self, dialog: Dialog, messages: list[dict[str, Any]], tools: Any, turns: Turns,
                 drop: int, upto: int | None = None) -> Context:
        dropped = [i for g in turns.groups[:drop] for i in g]
        summary = self._summary(dialog, dropped) if drop else None
        return build_context(messages, tools, turns, drop, upto, summary, self.config.summary_prefix)

    def _truncate(self, dialog: Dialog, messages: list[dict[str, Any]], tools: Any, turns: Turns,
                  wanted: set[int], built: Built, stats: dict[str, int]) -> Built:
        limit = self.config.max_length
        assert limit is not None
        if all(len(r.input_ids) <= limit for r in built.rows):
            return built
        stats["truncated"] = 1
        if built.per_turn:
            return self._truncate_rows(dialog, messages, tools, turns, built, stats)
        cache: dict[int, Built] = {}

        def length_of(d: int) -> int | None:
            cache[d] = self.build(self._context(dialog, messages, tools, turns, d), wanted, dialog.id)
            return max((len(r.input_ids) for r in cache[d].rows), default=None)

        d = fit(length_of, len(turns.groups) - 1, limit)
        if d is None:
            stats["too_long"] += 1
            return Built(issues=[_too_long(limit)])
        out = cache[d]
        out.issues = built.issues + out.issues
        stats["dropped_turns"] += d
        stats["lost"] += sum(1 for g in turns.groups[:d] for i in g if i in wanted)
        stats["summaries"] += int(any(r.context is not None and r.context.summary for r in out.rows))
        return out

    def _truncate_rows(self, dialog: Dialog, messages: list[dict[str, Any]], tools: Any, turns: Turns,
                       built: Built, stats: dict[str, int]) -> Built:
        limit = self.config.max_length
        assert limit is not None
        out = Built(issues=built.issues, per_turn=True, unstable=built.unstable, merges=built.merges,
                    skipped=built.skipped)
        for row in built.rows:
            if len(row.input_ids) <= limit:
                out.rows.append(row)
                continue
            j = row.turn if row.turn is not None else row.context.index[-1]  # type: ignore[union-attr]
            cache: dict[int, Row | None] = {}

            def length_of(d: int, j: int = j) -> int | None:
                ctx = self._context(dialog, messages, tools, turns, d, upto=j)
                cache[d] = self.turn_row(ctx, len(ctx.messages) - 1, dialog.id)[0]
                return len(cache[d].input_ids) if cache[d] is not None else None  # type: ignore[union-attr]

            d = fit(length_of, turns.group_of(j), limit)
            if d is None or cache.get(d) is None:
                stats["too_long"] += 1
                out.issues.append(_too_long(limit, j))
                continue
            stats["dropped_turns"] += d
            new = cache[d]
            stats["summaries"] += int(bool(new and new.context and new.context.summary))
            out.rows.append(new)  # type: ignore[arg-type]
        return out


def _too_long(limit: int, msg: int | None = None) -> Issue:
    return Issue("TOO_LONG", f"does not fit in max_length={limit} even with only the latest turn kept",
                 path=f"messages[{msg}]" if msg is not None else None, severity="warning")


def _dialog_index(ctx: Context, k: int) -> int:
    i = ctx.index[k]
    return -1 if i is None else i


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _end_marker(completion: str) -> str:
    """The non-content tail of a rendered turn: trailing added-token-like markers and whitespace."""
    import re

    m = re.search(r"((<\|[^|>]+\|>|</?[a-z_]+>|\[/?[A-Z_]+\])\s*)+$", completion)
    return m.group(0) if m else ""
