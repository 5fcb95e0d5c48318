"""The tiny BPE tokenizer used by tests and ``model init-tiny``."""

from __future__ import annotations

from dialogkit.tokenizer_tiny import MARKER_TOKENS, SPECIAL_TOKENS, build_tiny_tokenizer, chat_template


def test_build_save_load_roundtrip(tmp_path):
    from transformers import PreTrainedTokenizerFast

    tok = build_tiny_tokenizer(vocab_size=400, out_dir=tmp_path)
    assert (tmp_path / "tokenizer.json").exists()
    again = PreTrainedTokenizerFast.from_pretrained(str(tmp_path))
    text = "帮我订明天的高铁 please, 谢谢! 🚄"
    assert again.decode(again.encode(text, add_special_tokens=False)) == text  # byte-level: nothing unknown
    assert again.encode(text, add_special_tokens=False) == tok.encode(text, add_special_tokens=False)
    assert again.eos_token == "<|im_end|>" and again.pad_token == "<|pad|>"
    assert again.chat_template == chat_template()
    for t in SPECIAL_TOKENS + MARKER_TOKENS:
        assert len(again.encode(t, add_special_tokens=False)) == 1, t


def test_deterministic_and_sized():
    a = build_tiny_tokenizer(["hello world " * 20, "你好世界"], vocab_size=300)
    b = build_tiny_tokenizer(["hello world " * 20, "你好世界"], vocab_size=300)
    assert a.get_vocab() == b.get_vocab()
    assert len(a) <= 300 + len(MARKER_TOKENS)


def test_template_renders_tools_calls_and_generation_prompt():
    tok = build_tiny_tokenizer(vocab_size=300)
    msgs = [{"role": "user", "content": "weather?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"type": "function", "id": "c1", "function": {"name": "w", "arguments": {"city": "北京"}}}]},
            {"role": "tool", "tool_call_id": "c1", "name": "w", "content": '{"t": 20}'}]
    tools = [{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}]
    text = tok.apply_chat_template(msgs, tools=tools, tokenize=False, add_generation_prompt=True)
    assert '<tool_call>\n{"name": "w", "arguments": {"city": "北京"}}\n</tool_call><|im_end|>' in text
    assert "<tool_response>\n{\"t\": 20}\n</tool_response>" in text and text.endswith("<|im_start|>assistant\n")
    out = tok.apply_chat_template(msgs[:2], tools=tools, return_dict=True, return_assistant_tokens_mask=True)
    trained = [i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tok.decode(trained).startswith("<tool_call>") and tok.decode(trained).endswith("<|im_end|>")
