"""The backend protocol and how a model spec (``PATH``, ``RUN``, ``openai:NAME``) picks a backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from dialogkit.errors import UsageError
from dialogkit.schema import AssistantMessage, Message, ToolSpec


class GenerationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.0, ge=0.0, description="0 means greedy decoding")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, description="samples per request")
    seed: int = 0
    batch_size: int = Field(8, ge=1)


@dataclass
class ChatRequest:
    """The history to continue (ending before the assistant turn to generate) and the tools on offer."""

    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)


class Backend(Protocol):
    name: str

    def generate(self, requests: list[ChatRequest], config: GenerationConfig) -> list[list[AssistantMessage]]:
        """``config.n`` assistant messages per request, in request order."""
        ...


def load_backend(spec: str, *, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 device: str | None = None) -> Backend:
    """``openai:NAME`` → an OpenAI-compatible endpoint; anything else → a local model or run folder."""
    if spec.startswith("openai:"):
        from dialogkit.generate.openai_backend import OpenAIBackend

        return OpenAIBackend(spec.removeprefix("openai:"), base_url=base_url, api_key_env=api_key_env)
    path = Path(spec)
    if not path.exists() and (spec.startswith((".", "/")) or path.suffix):
        raise UsageError(f"{spec}: no such model folder (use a local path, a hub id, or openai:NAME)")
    from dialogkit.generate.hf import HFBackend

    return HFBackend(spec, device=device)
