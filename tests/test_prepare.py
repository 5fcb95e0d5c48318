"""``dialogkit prepare``: exact loss masks against TRL/transformers, per-turn rows, policies."""

from __future__ import annotations

from pathlib import Path

import pytest
from dialog_factory import make_dialogs

from dialogkit.prepare import PrepareConfig, PrepareReport, prepare_dialogs
from dialogkit.prepare.check import check_row
from dialogkit.prepare.engine import Preparer
from dialogkit.prepare.render import template_inputs
from dialogkit.records import parse_dialog


def trl_templates() -> Path:
    import trl

    return Path(trl.__file__).parent / "chat_templates"


@pytest.fixture(scope="module")
def dialogs():
    return [parse_dialog(d) for d in make_dialogs(200, seed=7)]


def trl_labels(tok, dialog, template, **template_kwargs):
    """What TRL's SFT preparation builds: apply_chat_template's assistant mask -> labels."""
    msgs, tools = template_inputs(dialog)
    out = tok.apply_chat_template(msgs, tools=tools, chat_template=template, tokenize=True, return_dict=True,
                                  return_assistant_tokens_mask=True, **template_kwargs)
    return out["input_ids"], [t if m else -100 for t, m in zip(out["input_ids"], out["assistant_masks"])]


def assert_equal_to_trl(tok, dialogs, template):
    report = PrepareReport()
    rows = list(prepare_dialogs(dialogs, tok, PrepareConfig(), template, report=report))
    assert len(rows) == len(dialogs) and report.bad_dialogs == 0
    for dialog, row in zip(dialogs, rows):
        ids, labels = trl_labels(tok, dialog, template)
        assert row.input_ids == ids, dialog.id
        assert row.labels == labels, dialog.id
        assert any(x != -100 for x in row.labels)
    return report


def test_labels_equal_trl_qwen3_training_template(qwen_tok, dialogs):
    template = (trl_templates() / "qwen3_training.jinja").read_text()
    report = assert_equal_to_trl(qwen_tok, dialogs, template)
    assert report.template_tagged and report.template_stable and report.per_turn_dialogs == 0


def test_labels_equal_trl_llama3_training_template(tiny_tok, dialogs):
    template = (trl_templates() / "llama3_training.jinja").read_text()
    assert_equal_to_trl(tiny_tok, dialogs, template)


def test_labels_equal_mask_with_dialogkit_template(tiny_tok, dialogs):
    report = assert_equal_to_trl(tiny_tok, dialogs, tiny_tok.chat_template)
    assert report.piece_cache is True


def test_untagged_template_spans_equal_its_tagged_twin(tiny_tok, dialogs):
    """Prefix rendering on TRL's original llama3 template finds exactly the tagged twin's mask."""
    plain = (trl_templates() / "llama3.jinja").read_text()
    tagged = (trl_templates() / "llama3_training.jinja").read_text()
    report = PrepareReport()
    bos = {"bos_token": "<s>"}  # the tiny tokenizer has none; llama3 templates start with it
    rows = list(prepare_dialogs(dialogs, tiny_tok, PrepareConfig(chat_template_kwargs=bos), plain, report=report))
    assert not report.template_tagged and report.per_turn_dialogs == 0
    assert len(rows) == len(dialogs) and report.bad_dialogs == 0
    for dialog, row in zip(dialogs, rows):
        ids, labels = trl_labels(tiny_tok, dialog, tagged, **bos)
        assert (row.input_ids, row.labels) == (ids, labels), dialog.id


def test_qwen3_original_template_one_row_per_turn_prompts_equal_inference(qwen_tok, dialogs):
    subset = dialogs[:40]
    report = PrepareReport()
    issues: list = []
    rows = list(prepare_dialogs(subset, qwen_tok, PrepareConfig(), report=report, issues=issues))
    assert report.unstable_dialogs > 0 and report.per_turn_dialogs >= report.unstable_dialogs
    assert not [i for i in issues if i.severity == "error"]
    by_id = {d.id: d for d in subset}
    per_turn = [r for r in rows if r.turn is not None and len(r.context.messages) == r.turn + 1]
    assert len(per_turn) > 100
    for row in per_turn:
        d = by_id[row.dialog_id]
        msgs, tools = template_inputs(d)
        prompt = qwen_tok.apply_chat_template(msgs[: row.turn], tools=tools, add_generation_prompt=True,
                                              tokenize=True, return_dict=False)
        n = len(prompt)
        assert row.input_ids[:n] == prompt
        assert all(x == -100 for x in row.labels[:n]) and all(x != -100 for x in row.labels[n:])
        full = qwen_tok.apply_chat_template(msgs[: row.turn + 1], tools=tools, tokenize=True, return_dict=False)
        assert row.input_ids == full  # the turn as the model produces it (with its <think> block)
    trained_turns = sum(1 for d in subset for m in d.messages if m.role == "assistant")
    assert report.trained_turns == trained_turns


def test_qwen3_per_turn_never_warns_and_check_finds_the_drift(qwen_tok, dialogs):
    cfg = PrepareConfig(per_turn="never")
    preparer = Preparer(qwen_tok, cfg)
    multi = next(d for d in dialogs if sum(m.role == "user" for m in d.messages) >= 3)
    rows, warnings, stats = preparer.prepare(multi)
    assert len(rows) == 1 and stats["unstable"] == 1
    assert any(w.code == "TEMPLATE_NOT_PREFIX_STABLE" for w in warnings)
    assert any(i.code == "COMPLETION_MISMATCH" for i in check_row(preparer, rows[0]))
    auto = Preparer(qwen_tok, PrepareConfig())
    for row in auto.prepare(multi)[0]:
        assert check_row(auto, row) == []


def test_loss_policies_and_train_flags(tiny_tok):
    d = parse_dialog({"id": "p", "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"}, {"role": "assistant", "content": "a2", "train": False},
        {"role": "user", "content": "u3"}, {"role": "assistant", "content": "a3"}]})

    def trained(loss_on, dialog=d):
        (row,) = list(prepare_dialogs([dialog], tiny_tok, PrepareConfig(loss_on=loss_on)))
        return tiny_tok.decode([x for x in row.labels if x != -100]), row

    text, row = trained("assistant")
    assert text == "a1<|im_end|>a3<|im_end|>" and row.turn is None
    text, row = trained("last")
    assert text == "a3<|im_end|>" and row.turn == 6
    text, row = trained("all")
    assert "sys" in text and "u1" in text and "a2" not in text and "a3" in text
    flagged = d.model_copy(update={"messages": [*d.messages[:1], d.messages[1].model_copy(update={"train": True}),
                                                *d.messages[2:]]})
    text, _ = trained("last", flagged)
    assert "u1" in text and text.endswith("a3<|im_end|>") and "a1" not in text


def test_boundary_merge_is_handled_and_reported():
    from dialogkit.tokenizer_tiny import DEFAULT_TEXTS, build_tiny_tokenizer

    tiny_tok = build_tiny_tokenizer([*DEFAULT_TEXTS, *["assistant"] * 50], vocab_size=400)
    # The generation prompt "assi" runs straight into the reply "stant ...": the word "assistant" is one
    # BPE token in the full text, so a token crosses the prompt/completion boundary.
    template = ("{% for m in messages %}{% if m.role == 'assistant' %}assi{% else %}{{ m.role }}{% endif %}"
                "{{ m.content }}<|im_end|>{% endfor %}{% if add_generation_prompt %}assi{% endif %}")
    assert len(tiny_tok.encode("assistant", add_special_tokens=False)) == 1
    d = parse_dialog({"id": "m", "messages": [{"role": "user", "content": "hi"},
                                               {"role": "assistant", "content": "stant hello"}]})
    report = PrepareReport()
    (row,) = list(prepare_dialogs([d], tiny_tok, PrepareConfig(), template, report=report))
    assert report.boundary_merges >= 1 and report.per_turn_dialogs == 1
    prompt = tiny_tok.apply_chat_template([{"role": "user", "content": "hi"}], chat_template=template,
                                          add_generation_prompt=True, tokenize=True, return_dict=False)
    assert row.input_ids[: len(prompt)] == prompt
    assert tiny_tok.decode([x for x in row.labels if x != -100]) == "stant hello<|im_end|>"


def test_tool_arguments_never_get_null_keys(tiny_tok, dialogs):
    rows = list(prepare_dialogs(dialogs[:50], tiny_tok, PrepareConfig()))
    text = "".join(tiny_tok.decode(r.input_ids) for r in rows)
    assert '"arguments": {' in text and "null" not in text


def test_bad_template_render_is_a_located_issue(tiny_tok, dialogs):
    template = ("{% for m in messages %}{% if m.role == 'tool' %}{{ raise_exception('no tools here') }}{% endif %}"
                "{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}")
    report, issues = PrepareReport(), []
    rows = list(prepare_dialogs(dialogs[:30], tiny_tok, PrepareConfig(), template, report=report, issues=issues))
    with_tools = [d for d in dialogs[:30] if any(m.role == "tool" for m in d.messages)]
    assert report.bad_dialogs == len(with_tools) > 0
    # (the ": " before replies merges with their first word, so some dialogs become per-turn rows)
    assert len({r.dialog_id for r in rows}) == 30 - len(with_tools)
    assert {i.code for i in issues} == {"TEMPLATE_RENDER_ERROR"}
    assert "no tools here" in issues[0].message and issues[0].record_id == with_tools[0].id


def test_continuation_is_boundary_exact(qwen_tok, dialogs):
    from dialogkit.prepare import ContinuationEncoder

    enc = ContinuationEncoder(qwen_tok)
    d = next(x for x in dialogs if len(x.messages) > 4)
    k = max(i for i, m in enumerate(d.messages) if m.role == "assistant")
    prompt_ids, completion_ids = enc.encode(d.messages[:k], d.messages[k:k + 1], d.tools)
    msgs, tools = template_inputs(d)
    assert prompt_ids == qwen_tok.apply_chat_template(msgs[:k], tools=tools, add_generation_prompt=True,
                                                      tokenize=True, return_dict=False)
    full = qwen_tok.apply_chat_template(msgs[: k + 1], tools=tools, tokenize=True, return_dict=False)
    assert prompt_ids + completion_ids == full
