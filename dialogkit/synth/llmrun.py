"""What every LLM synthesis mode shares: options, endpoint or local backend, journal, live output.

:class:`LLMRun` is an async context manager around one run: it refuses to append to an
output that has no journal (it may be someone's data), refuses a journal written by a
differently configured run, builds one :class:`~dialogkit.synth.client.ChatClient` per
endpoint (so the user simulator and the assistant share the same limits), and at the end
rewrites ``OUT`` atomically with exactly the accepted dialogs, in index order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialogkit.errors import DialogkitError, UsageError
from dialogkit.io import ensure_not_input
from dialogkit.synth import SynthJob, SynthReport
from dialogkit.synth.client import ChatClient, ClientConfig, Transport
from dialogkit.synth.journal import ItemResult, Journal, LiveOutput, OrderedRunner, journal_path, live_path
from dialogkit.synth.transports import BackendTransport, OpenAITransport


class LLMOptions(BaseModel):
    """Options of the LLM modes: the CLI's ``--model`` ... plus ``--set key=value``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="Endpoint model name, openai:NAME, or a local model / run folder.")
    user_model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(8, ge=1)
    rpm: float | None = Field(None, gt=0)
    tpm: float | None = Field(None, gt=0)
    temperature: float = Field(0.7, ge=0)
    max_tokens: int = Field(512, ge=1)
    timeout: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0)
    max_invalid: int = Field(2, ge=0)
    backoff_base: float = Field(0.5, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    retry_failed: bool = False
    max_attempts: int | None = Field(None, ge=1)
    batch_size: int = Field(8, ge=1, description="Local backend: requests generated together.")

    @classmethod
    def from_job(cls, job: SynthJob) -> Any:
        opts = {k: v for k, v in job.options.items() if v is not None}
        if "model" not in opts:
            raise UsageError(f"{job.mode} needs --model NAME (an endpoint model with --base-url, or a local model path)")
        try:
            return cls.model_validate(opts)
        except ValidationError as e:
            msgs = [f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()]
            raise UsageError(f"{job.mode} options: " + "; ".join(msgs)) from None

    def run_config(self) -> dict[str, Any]:
        """What changes the content of a run (checked when resuming); limits and URLs do not."""
        return {"model": self.model, "user_model": self.user_model or self.model,
                "temperature": self.temperature, "max_tokens": self.max_tokens}

    def client_config(self) -> ClientConfig:
        return ClientConfig(concurrency=self.concurrency, rpm=self.rpm, tpm=self.tpm, max_retries=self.max_retries,
                            max_invalid=self.max_invalid, timeout=self.timeout, backoff_base=self.backoff_base,
                            backoff_max=self.backoff_max)


@dataclass
class LLMReport(SynthReport):
    """A synth report plus the request statistics line."""

    requests: str = ""
    resumed: int = 0


def api_key(opts: LLMOptions, explicit_env: bool) -> str:
    key = os.environ.get(opts.api_key_env)
    if key:
        return key
    if explicit_env:
        raise UsageError(f"--api-key-env {opts.api_key_env}: that environment variable is not set")
    if opts.base_url:
        return "not-needed"  # local servers (vLLM, Ollama, llama.cpp) accept any key
    raise UsageError("set OPENAI_API_KEY (or name the variable with --api-key-env), "
                     "or give --base-url for a local OpenAI-compatible server")


class LLMRun:
    """One resumable LLM run; see the module docstring."""

    def __init__(self, job: SynthJob, opts: LLMOptions, config: dict[str, Any], inputs: list[Any]):
        self.job = job
        self.opts = opts
        self.config = config
        self.out = Path(job.out)
        ensure_not_input(self.out, inputs)
        self.jpath = journal_path(self.out)
        self.lpath = live_path(self.out)
        if not self.jpath.exists() and (self.out.exists() or self.lpath.exists()):
            raise UsageError(f"{self.out} exists but has no journal ({self.jpath.name}); refusing to append to it: "
                             "choose another --out or remove the file")
        self.explicit_env = "api_key_env" in job.options
        self.journal: Journal = None  # type: ignore[assignment]
        self.live: LiveOutput = None  # type: ignore[assignment]
        self._clients: dict[str, ChatClient] = {}
        self._names: dict[str, str] = {}
        self._share: dict[str, str] = {}
        self._backend = ""

    async def __aenter__(self) -> LLMRun:  # noqa: PYI034
        transports = self._transports()  # bad keys or models fail here, before any file is touched
        self.journal = Journal(self.jpath)
        old = self.journal.config() if (self.journal.responses or self.journal.items) else None
        if old is not None:
            diff = sorted(k for k in set(old) | set(self.config) if old.get(k) != self.config.get(k))
            if diff:
                self.journal.close()
                raise UsageError(f"{self.jpath} was written by a differently configured run (differs in: "
                                 f"{', '.join(diff)}); use another --out, or remove {self.out.name} and its journal")
        self.live = LiveOutput(self.lpath)
        host = urlparse(self.opts.base_url).netloc if self.opts.base_url else None
        self.journal.append({"t": "run", "config": self.config, "endpoint": host, "resume": old is not None,
                             "have": len(self.live.dialogs), "torn": self.journal.torn or self.live.log.torn})
        made: dict[str, ChatClient] = {}
        for role, share in self._share.items():
            if share not in made:
                made[share] = ChatClient(transports[share], self.journal, self.opts.client_config())
            self._clients[role] = made[share]
        self._backend = "+".join(sorted({c.transport.name for c in made.values()}))
        return self

    def _transports(self) -> dict[str, Transport]:
        o = self.opts
        specs = {"assistant": o.model, "user": o.user_model or o.model}
        made: dict[str, Transport] = {}
        for role, spec in specs.items():
            # A local model is an existing folder (a model, adapter or training run); any other
            # name is an endpoint model: synth never downloads weights from a hub.
            remote = bool(o.base_url) or spec.startswith("openai:") or not Path(spec).exists()
            self._names[role] = spec.removeprefix("openai:") if remote else spec
            share = "remote" if remote else f"local:{spec}"
            self._share[role] = share
            if share not in made:
                made[share] = self._transport(remote, spec)
        return made

    def _transport(self, remote: bool, spec: str) -> Transport:
        o = self.opts
        if remote:
            base = o.base_url or os.environ.get("OPENAI_BASE_URL")
            return OpenAITransport(base, api_key(o, self.explicit_env), o.concurrency)
        from dialogkit.generate import load_backend

        return BackendTransport(load_backend(spec), batch_size=o.batch_size)

    def client(self, role: str) -> ChatClient:
        return self._clients[role]

    def model_name(self, role: str) -> str:
        return self._names[role]

    def backend_name(self) -> str:
        """The transport kind (the endpoint address is in the journal, not in the data)."""
        return self._backend

    def slots(self) -> int:
        """Dialogs in progress: a few more than request slots, so the slots never wait on local work."""
        c = self.opts.concurrency
        return c + max(2, c // 4)

    async def guard(self, index: int, item_id: str, fn: Any) -> ItemResult:
        """``fn(index)``; an unexpected bug fails this item (recorded), not the whole run."""
        try:
            return await fn(index)
        except DialogkitError:
            raise
        except Exception as e:  # noqa: BLE001 - recorded as the item's failure, with its type
            return ItemResult(index, item_id, None, f"{type(e).__name__}: {e}", ["INTERNAL_ERROR"])

    def progress(self, done: int, dropped: int) -> None:
        if self.job.progress is None:
            return
        stats = self._clients["assistant"].stats
        try:
            self.job.progress(done, dropped, info=f"req {stats.sent}, retries {stats.retries}, failed {stats.failed}")
        except TypeError:  # a progress callback that takes (done, dropped) only
            self.job.progress(done, dropped)

    def finish(self, dialogs: list[dict[str, Any]]) -> int:
        """Rewrite OUT atomically with exactly ``dialogs`` (already in index order)."""
        from dialogkit.synth.outline import write_dialogs

        self.live.close()
        return write_dialogs(self.out, dialogs)

    def notes(self, report: SynthReport, runner: OrderedRunner) -> None:
        stats = [c.stats for c in {id(c): c for c in self._clients.values()}.values()]
        line = "; ".join(s.line() for s in stats)
        if isinstance(report, LLMReport):
            report.requests = line
            report.resumed = runner.reused

    async def __aexit__(self, *exc: object) -> None:
        for c in {id(c): c for c in self._clients.values()}.values():
            await c.aclose()
        if self.live is not None:
            self.live.close()
        if self.journal is not None:
            self.journal.close()
