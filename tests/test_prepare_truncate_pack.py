"""Truncation keeps the latest turns (and system + tools); packing keeps samples apart."""

from __future__ import annotations

import pytest

from dialog_factory import long_dialog, make_dialogs
from dialogkit.prepare import PrepareConfig, PrepareReport, pack_rows, prepare_dialogs
from dialogkit.prepare.pack import best_fit_decreasing
from dialogkit.records import parse_dialog


@pytest.fixture(scope="module")
def tok():
    from dialogkit.tokenizer_tiny import build_tiny_tokenizer

    return build_tiny_tokenizer(vocab_size=500)


def test_long_dialog_keeps_latest_turns_system_and_tools(tok):
    d = parse_dialog(long_dialog(40))
    full = list(prepare_dialogs([d], tok, PrepareConfig()))[0]
    assert len(full.input_ids) > 3000
    report, issues = PrepareReport(), []
    (row,) = list(prepare_dialogs([d], tok, PrepareConfig(max_length=2048), report=report, issues=issues))
    assert len(row.input_ids) <= 2048 and not issues
    ctx = row.context
    text = tok.decode(row.input_ids)
    assert ctx.messages[0]["role"] == "system" and ctx.index[0] == 0
    assert "# Tools" in text and "get_fare" in text.split("<|im_end|>")[0]
    assert ctx.messages[1]["role"] == "user"  # history starts at a whole turn
    assert ctx.index[-1] == len(d.messages) - 1  # the latest turn is kept
    kept = [i for i in ctx.index if i is not None]
    assert kept == [0, *range(kept[1], len(d.messages))]  # one contiguous tail, nothing cut inside
    calls = {c.id for i in kept if d.messages[i].role == "assistant" for c in d.messages[i].tool_calls}
    results = {d.messages[i].tool_call_id for i in kept if d.messages[i].role == "tool"}
    assert calls == results  # no tool call separated from its result
    assert report.truncated_dialogs == 1 and report.dropped_turns == ctx.dropped_turns > 0
    assert report.lost_trained_turns == sum(1 for i in ctx.dropped if d.messages[i].role == "assistant")
    # dropping one turn fewer would not fit: the fewest turns are dropped
    shorter = list(prepare_dialogs([d], tok, PrepareConfig(max_length=len(row.input_ids) - 1)))
    assert len(shorter[0].context.index) < len(ctx.index)


def test_nothing_is_cut_without_max_length(tok):
    d = parse_dialog(long_dialog(40))
    report = PrepareReport()
    (row,) = list(prepare_dialogs([d], tok, PrepareConfig(), report=report))
    assert row.context.index == list(range(len(d.messages))) and report.truncated_dialogs == 0


def test_summary_from_metadata_joins_the_system_message(tok):
    data = long_dialog(30)
    data["metadata"] = {"summary": "User planned a trip to 重庆 and booked a hotel."}
    d = parse_dialog(data)
    report = PrepareReport()
    cfg = PrepareConfig(max_length=2048, summary=True)
    (row,) = list(prepare_dialogs([d], tok, cfg, report=report))
    assert report.summaries == 1 and row.context.summary
    text = tok.decode(row.input_ids)
    assert "Summary of the earlier conversation: User planned a trip to 重庆" in text
    assert len(row.input_ids) <= 2048


def test_summarizer_hook_sees_dropped_messages(tok):
    d = parse_dialog(long_dialog(30))
    seen = []

    def hook(dialog, dropped):
        seen.append(len(dropped))
        return f"{len(dropped)} earlier messages"

    (row,) = list(prepare_dialogs([d], tok, PrepareConfig(max_length=2048, summary=True), summarizer=hook))
    assert seen and f"{len(row.context.dropped)} earlier messages" in tok.decode(row.input_ids)


def test_per_turn_rows_truncate_each_history(tok):
    d = parse_dialog(long_dialog(30))
    report = PrepareReport()
    rows = list(prepare_dialogs([d], tok, PrepareConfig(max_length=2048, per_turn="always"), report=report))
    assert len(rows) == sum(m.role == "assistant" for m in d.messages)  # no trained turn lost
    assert all(len(r.input_ids) <= 2048 for r in rows)
    assert report.lost_trained_turns == 0 and report.dropped_turns > 0
    assert [r.turn for r in rows] == [i for i, m in enumerate(d.messages) if m.role == "assistant"]


def test_too_long_even_with_one_turn_is_reported(tok):
    d = parse_dialog(long_dialog(10))
    report, issues = PrepareReport(), []
    rows = list(prepare_dialogs([d], tok, PrepareConfig(max_length=64), report=report, issues=issues))
    assert rows == [] and report.too_long == 1 and issues[0].code == "TOO_LONG"


def test_best_fit_decreasing():
    bins = best_fit_decreasing([5, 4, 3, 3, 2, 2, 1], 6)
    assert sorted(sorted(b) for b in bins) == [[0, 6], [1, 4], [2, 3], [5]]
    assert sorted(i for b in bins for i in b) == list(range(7))


def test_packing_restarts_positions_and_reports_efficiency(tok):
    dialogs = [parse_dialog(x) for x in make_dialogs(60, seed=3)] + [parse_dialog(long_dialog(20))]
    plain = list(prepare_dialogs(dialogs, tok, PrepareConfig(max_length=2048)))
    report = PrepareReport()
    packed = list(prepare_dialogs(dialogs, tok, PrepareConfig(max_length=2048, pack=True), report=report))
    assert report.packed_rows == len(packed) < len(plain)
    assert 0.5 < report.packing_efficiency <= 1.0
    assert report.packing_efficiency == pytest.approx(sum(len(r.input_ids) for r in plain) / (len(packed) * 2048))
    samples = {}
    for p in packed:
        assert len(p.input_ids) == len(p.labels) == len(p.position_ids) == sum(p.seq_lengths) <= 2048
        start = 0
        for n, did, turn in zip(p.seq_lengths, p.dialog_ids, p.turns):
            assert p.position_ids[start:start + n] == list(range(n))
            samples[(did, turn)] = (p.input_ids[start:start + n], p.labels[start:start + n])
            start += n
    assert samples == {(r.dialog_id, r.turn): (r.input_ids, r.labels) for r in plain}


def test_pack_rows_refuses_rows_longer_than_a_pack(tok):
    rows = list(prepare_dialogs([parse_dialog(long_dialog(5))], tok, PrepareConfig()))
    from dialogkit.errors import UsageError

    with pytest.raises(UsageError, match="does not fit"):
        pack_rows(rows, 16)
