"""One served model: a backend behind a lock, with token counts, finish reasons and streaming.

Any :class:`dialogkit.generate.Backend` can be served. A transformers backend (one with
``model``, ``tokenizer`` and ``prompt_text``) gets the direct path: exact prompt and completion
token counts, ``finish_reason="length"`` when the budget ran out, ``stop`` strings inside
generation, real token streaming (``TextIteratorStreamer``) and cancellation when a streaming
client goes away. Other backends answer whole messages; their token counts are estimates.

Generation is blocking and a model is not thread-safe, so each model has one lock: requests to
one model run one at a time in worker threads while the event loop keeps serving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dialogkit.generate import Backend, ChatRequest, GenerationConfig, parse_completion
from dialogkit.schema import AssistantMessage


@dataclass
class Completion:
    """One generated choice: the raw text (when known), the parsed message and why it ended."""

    message: AssistantMessage
    finish_reason: str
    completion_tokens: int
    text: str | None = None


@dataclass
class Result:
    choices: list[Completion]
    prompt_tokens: int
    seconds: float

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.choices)


def _cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string (excluded, as OpenAI does) and whether one was found."""
    cuts = [i for i in (text.find(s) for s in stop) if i >= 0]
    return (text[:min(cuts)], True) if cuts else (text, False)


def _estimate_tokens(text: str) -> int:
    # No tokenizer: about 4 characters per token for Latin text, 1 per CJK character.
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af")
    return cjk + max(0, len(text) - cjk + 3) // 4


class ServedModel:
    """A backend served under ``name`` (the OpenAI ``model`` id)."""

    def __init__(self, name: str, backend: Backend, source: str | None = None):
        self.name = name
        self.backend = backend
        self.source = source or name
        self.created = int(time.time())
        self.lock = threading.Lock()

    @property
    def direct(self) -> bool:
        """Whether the transformers path (exact tokens, real streaming) applies."""
        return all(hasattr(self.backend, a) for a in ("model", "tokenizer", "prompt_text"))

    def count(self, text: str) -> int:
        tok = getattr(self.backend, "tokenizer", None)
        if tok is not None:
            return len(tok(text, add_special_tokens=False)["input_ids"])
        return _estimate_tokens(text)

    # ------------------------------------------------------------------ whole answers
    def complete(self, request: ChatRequest, config: GenerationConfig, stop: list[str] | None = None) -> Result:
        """Generate ``config.n`` choices for one request (blocking; call from a worker thread)."""
        t0 = time.monotonic()
        with self.lock:
            if self.direct:
                prompt_tokens, choices = self._direct(request, config, stop or [])
            else:
                prompt_tokens, choices = self._generic(request, config, stop or [])
        return Result(choices, prompt_tokens, time.monotonic() - t0)

    def _generic(self, request: ChatRequest, config: GenerationConfig, stop: list[str]) -> tuple[int, list[Completion]]:
        messages = self.backend.generate([request], config)[0]
        prompt = "\n".join(str(getattr(m, "content", "")) for m in request.messages)
        out = []
        for m in messages:
            content, stopped = _cut_at_stop(m.content, stop)
            m = m.model_copy(update={"content": content.strip() if stopped else content})
            spent = self.count(content + (m.reasoning or "") + "".join(c.model_dump_json() for c in m.tool_calls))
            reason = "tool_calls" if m.tool_calls else ("length" if spent >= config.max_new_tokens and not stopped
                                                        else "stop")
            out.append(Completion(m, reason, spent))
        return self.count(prompt), out

    def _generate_kwargs(self, config: GenerationConfig, stop: list[str]) -> dict[str, Any]:
        tok = self.backend.tokenizer
        kwargs: dict[str, Any] = {"max_new_tokens": config.max_new_tokens, "do_sample": config.temperature > 0,
                                  "num_return_sequences": config.n, "pad_token_id": tok.pad_token_id}
        if config.temperature > 0:
            kwargs.update(temperature=config.temperature, top_p=config.top_p)
        if stop:
            kwargs.update(stop_strings=stop, tokenizer=tok)
        return kwargs

    def _encode(self, request: ChatRequest) -> Any:
        tok, model = self.backend.tokenizer, self.backend.model
        return tok([self.backend.prompt_text(request)], add_special_tokens=False, return_tensors="pt").to(model.device)

    def _eos_ids(self) -> set[int]:
        eos = getattr(self.backend.model.generation_config, "eos_token_id", None)
        ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        if self.backend.tokenizer.eos_token_id is not None:
            ids.add(self.backend.tokenizer.eos_token_id)
        return ids

    def _finish(self, row: list[int], config: GenerationConfig, stop: list[str]) -> Completion:
        """Tokens up to and including the first end-of-turn token; the rest is padding."""
        eos = self._eos_ids()
        end = next((i + 1 for i, t in enumerate(row) if t in eos), None)
        used = row[:end] if end is not None else row
        text = self.backend.tokenizer.decode(used, skip_special_tokens=True)
        text, stopped = _cut_at_stop(text, stop)
        msg = parse_completion(text)
        if msg.tool_calls:
            reason = "tool_calls"
        elif end is None and not stopped and len(used) >= config.max_new_tokens:
            reason = "length"
        else:
            reason = "stop"
        return Completion(msg, reason, len(used), text)

    def _direct(self, request: ChatRequest, config: GenerationConfig, stop: list[str]) -> tuple[int, list[Completion]]:
        import torch

        enc = self._encode(request)
        torch.manual_seed(config.seed)
        with torch.no_grad():
            gen = self.backend.model.generate(**enc, **self._generate_kwargs(config, stop))
        n_prompt = enc["input_ids"].shape[1]
        rows = gen[:, n_prompt:].tolist()
        return n_prompt, [self._finish(r, config, stop) for r in rows]

    # ------------------------------------------------------------------ streaming
    def stream(self, request: ChatRequest, config: GenerationConfig, stop: list[str],
               cancel: threading.Event) -> Iterator[str | Result]:
        """Text pieces as they are generated, then the final :class:`Result` (``config.n`` must be 1).

        Blocking iterator: drive it from a worker thread. Setting ``cancel`` stops generation
        at the next token (a client that disconnected).
        """
        if not self.direct:
            yield self.complete(request, config, stop)
            return
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> bool:
                return cancel.is_set()

        tok = self.backend.tokenizer
        streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True, timeout=600)
        box: dict[str, Any] = {}

        def work() -> None:
            import torch

            try:
                enc = self._encode(request)
                box["n_prompt"] = enc["input_ids"].shape[1]
                torch.manual_seed(config.seed)
                with torch.no_grad():
                    box["gen"] = self.backend.model.generate(
                        **enc, **self._generate_kwargs(config, stop), streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Cancelled()]))
            except BaseException as e:  # noqa: BLE001 - handed to the consumer below
                box["error"] = e
                streamer.end()

        t0 = time.monotonic()
        with self.lock:
            thread = threading.Thread(target=work, name=f"dialogkit-gen-{self.name}", daemon=True)
            thread.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                # Also on an abandoned stream: stop the generation before another request may start.
                cancel.set()
                thread.join()
        if "error" in box:
            raise box["error"]
        row = box["gen"][0, box["n_prompt"]:].tolist()
        yield Result([self._finish(row, config, stop)], box["n_prompt"], time.monotonic() - t0)
