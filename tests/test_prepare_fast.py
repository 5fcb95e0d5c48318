"""The fast path of ``prepare`` gives exactly the reference path's rows.

Fast: cached Jinja sandbox checks, running-length generation tracker, piece-cached
tokenization, buffer-built Parquet columns. Reference: transformers' sandbox untouched and
whole-text tokenization (``Preparer(..., reference=True)``). Compared over the datasets/
samples and generated dialogs, with the real Qwen3 tokenizer and a tiny BPE one, on tagged,
untagged and non-prefix-stable templates, every loss policy, per-turn rows and truncation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dialog_factory import make_dialogs

from dialogkit.errors import RecordError
from dialogkit.prepare import PrepareConfig, PrepareReport
from dialogkit.prepare.engine import Preparer
from dialogkit.prepare.pipeline import _fill_facts, process_dialog
from dialogkit.prepare.render import Renderer
from dialogkit.records import parse_dialog

ROOT = Path(__file__).resolve().parents[1]


def trl_template(name: str) -> str:
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def samples():
    """Every dialog of datasets/*/dialogs.jsonl plus generated ones (tools, reasoning, zh/en, long)."""
    out = []
    for path in sorted(ROOT.glob("datasets/*/dialogs.jsonl")):
        out += [parse_dialog(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(out) > 200
    return out + [parse_dialog(d) for d in make_dialogs(60, seed=11)]


def _run(tok, dialogs, config, template, reference):
    preparer = Preparer(tok, config, template, reference=reference)
    report, issues = PrepareReport(), []
    _fill_facts(report, preparer)
    rows = [r for d in dialogs for r in process_dialog(preparer, d, report, issues, {"record_id": d.id})]
    return preparer, rows, report, issues


def assert_fast_equals_reference(tok, dialogs, config, template=None):
    fast, rows, report, issues = _run(tok, dialogs, config, template, reference=False)
    ref, ref_rows, ref_report, ref_issues = _run(tok, dialogs, config, template, reference=True)
    assert fast.encoder.cached and not ref.encoder.cached  # the two paths really differ
    assert len(rows) == len(ref_rows) >= len(dialogs) - report.bad_dialogs - report.too_long
    assert report.bad_dialogs < len(dialogs) // 10  # the comparison is not vacuous
    for row, want in zip(rows, ref_rows):
        assert (row.dialog_id, row.turn) == (want.dialog_id, want.turn)
        assert row.input_ids == want.input_ids, row.dialog_id
        assert row.labels == want.labels, row.dialog_id
    assert report.piece_cache and not ref_report.piece_cache
    report.piece_cache = ref_report.piece_cache = None
    assert report.to_dict() == ref_report.to_dict()
    assert [i.format() for i in issues] == [i.format() for i in ref_issues]
    return report


def test_qwen3_training_template_fast_equals_reference(qwen_tok, samples):
    report = assert_fast_equals_reference(qwen_tok, samples, PrepareConfig(), trl_template("qwen3_training.jinja"))
    assert report.template_tagged and report.template_stable and report.per_turn_dialogs == 0


def test_qwen3_original_template_per_turn_fast_equals_reference(qwen_tok, samples):
    report = assert_fast_equals_reference(qwen_tok, samples[::3], PrepareConfig())
    assert report.per_turn_dialogs > 0 and not report.template_tagged


def test_qwen3_truncation_fast_equals_reference(qwen_tok, samples):
    report = assert_fast_equals_reference(qwen_tok, samples[::4], PrepareConfig(max_length=700),
                                          trl_template("qwen3_training.jinja"))
    assert report.truncated_dialogs > 5 and report.dropped_turns > 5


@pytest.mark.parametrize("template, config, step", [
    ("llama3.jinja", PrepareConfig(chat_template_kwargs={"bos_token": "<s>"}), 1),  # the tiny tokenizer has no BOS
    ("llama3_training.jinja", PrepareConfig(loss_on="last", chat_template_kwargs={"bos_token": "<s>"}), 1),
    (None, PrepareConfig(loss_on="all"), 1),
    (None, PrepareConfig(per_turn="always", max_length=256, summary=True), 5),
])
def test_tiny_tokenizer_fast_equals_reference(tiny_tok, samples, template, config, step):
    assert_fast_equals_reference(tiny_tok, samples[::step], config, trl_template(template) if template else None)


# ------------------------------------------------------------------ the sandbox hooks
SNIPPETS = [
    "{{ messages[0].content.strip().upper() }}|{{ messages[0].content.split(' ')|length }}",
    "{{ '{}-{}'.format(messages[0].role, 1) }}|{{ '%s'|format('x') }}",
    "{{ messages[0].missing is defined }}|{{ messages[0].missing }}|{{ messages.missing }}",
    "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + loop.index0 %}{% endfor %}{{ ns.n }}",
    "{{ ''.__class__ }}|{{ ''.__class__.__name__ }}",  # unsafe: the sandbox refuses it
    "{{ messages[0].clear() }}",  # modifies a known mutable: refused
    "{{ messages.append(1) }}",
    "{{ '{a}-{b}'.format_map({'a': 1, 'b': messages[1].content}) }}",
    "{{ raise_exception('no') }}",
    "{{ messages[0].items()|list }}|{{ tools[0].function.name }}|{{ tools[0]['function']['name'] }}",
    "{% for m in messages %}{% generation %}[{{ m.content }}]{% endgeneration %}+{% endfor %}",
]


def _render(renderer: Renderer, messages, tools):
    try:
        out = renderer.render(messages, tools, track=True)
        return out.text, out.generation
    except RecordError as e:
        return "error", e.issues[0].message


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_sandbox_hooks_equal_stock_sandbox(snippet):
    """Same output, same refusals, same generation spans as transformers' own sandbox."""
    messages = [{"role": "user", "content": " Hi there "}, {"role": "assistant", "content": "好的"}]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    fast, stock = Renderer(snippet, fast=True), Renderer(snippet, fast=False)
    for _ in range(2):  # the second time from the caches
        assert _render(fast, messages, tools) == _render(stock, messages, tools)
    if "__class__" in snippet or "clear" in snippet or "append" in snippet:
        assert _render(fast, messages, tools)[0] == "error"


def test_generation_spans_equal_apply_chat_template_masks(tiny_tok):
    template = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{% if m.role == 'assistant' %}{% generation %}"
                "{{ m.content }}<|im_end|>{% endgeneration %}{% else %}{{ m.content }}<|im_end|>{% endif %}"
                "{% endfor %}")
    messages = [{"role": "user", "content": "u" * i} if i % 2 == 0 else {"role": "assistant", "content": "a" * i}
                for i in range(9)]
    fast = Renderer(template).render(messages, None, track=True)
    stock = Renderer(template, fast=False).render(messages, None, track=True)
    assert fast == stock and len(fast.generation) == 4
    for s, e in fast.generation:
        assert fast.text[s:e].startswith("a") and fast.text[s:e].endswith("<|im_end|>")


# ------------------------------------------------------------------ Parquet columns
def test_buffer_built_columns_equal_pyarrow_arrays():
    import pyarrow as pa

    from dialogkit.prepare.writer import _column

    cases = [
        ([[1, 2, 3], [], [-100, 7]], pa.list_(pa.int32()), True),
        (["dlg_1", "对话-2", ""], pa.string(), False),
        ([3, None, 0, None, 5, 6, 7, 8, None], pa.int32(), False),
        ([[1, None], [], [None]], pa.list_(pa.int32()), False),
        ([["a", "中"], [], ["b"]], pa.list_(pa.string()), False),
    ]
    for values, typ, dense in cases:
        got = _column(values, typ, dense)
        assert got.type == typ
        assert got.to_pylist() == pa.array(values, type=typ).to_pylist()
        got.validate(full=True)


# ------------------------------------------------------------------ shipped lines vs the generic reader
def test_shipped_lines_equal_the_generic_reader(run_cli, tiny_tok, tmp_path, monkeypatch):
    """A plain .jsonl goes to workers as undecoded lines; the .jsonl.gz twin goes through read_raw."""
    import gzip

    import pyarrow.parquet as pq

    from dialogkit.prepare import workers as wk

    monkeypatch.setattr(wk, "CHUNK", 8)  # many chunks over both workers: order and positions matter

    tok_dir = tmp_path / "tok"
    tiny_tok.save_pretrained(tok_dir)
    lines = [json.dumps(d, ensure_ascii=False).encode() for d in make_dialogs(70, seed=3)]
    lines[5] = b"{not json"
    lines[40] = b'{"id": "bad-\xff", "messages": []}'  # bad UTF-8
    lines[41] = json.dumps({"id": "bad-role", "messages": [{"role": "robot", "content": "x"}]}).encode()
    lines.insert(60, b"   ")  # blank lines are skipped but still counted
    plain = tmp_path / "d.jsonl"
    plain.write_bytes(b"\n".join(lines) + b"\n")
    gz = tmp_path / "g.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    runs = {}
    for src in (plain, gz):
        for workers in ("1", "2"):
            out, rej = tmp_path / f"{src.stem}{workers}.parquet", tmp_path / f"{src.stem}{workers}.rej.jsonl"
            res = run_cli("prepare", src, "--tokenizer", tok_dir, "--out", out, "--rejects", rej, "--workers", workers)
            assert res.exit_code == 1
            rejects = [json.loads(x) for x in rej.read_text().replace(json.dumps(str(src))[1:-1], "IN").splitlines()]
            issues = sorted(x.replace(str(src), "IN") for x in res.stderr.splitlines())
            runs[src.suffix, workers] = (pq.read_table(out), rejects, issues, res.stdout.splitlines()[0])
    base_table, base_rejects, base_issues, base_summary = runs[".jsonl", "1"]
    assert [r["line"] for r in base_rejects] == [6, 41, 42]
    assert base_table.num_rows == 67 and "prepared 67/70 dialogs" in base_summary
    assert any("UTF8_INVALID" in x for x in base_issues) and any("JSON_INVALID" in x for x in base_issues)
    for key, (table, rejects, issues, summary) in runs.items():
        assert table.equals(base_table), key
        assert (rejects, issues, summary.split(" -> ")[0]) == (base_rejects, base_issues, base_summary.split(" -> ")[0])
