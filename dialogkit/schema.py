"""The one conversation schema every stage reads and writes.

Messages are a role-discriminated union (the pydantic-ai idiom), so a wrong or unknown role
is reported at the exact message index. Tool-call arguments are always a parsed JSON object:
templates render them with ``tojson`` and scorers compare them structurally, so a JSON string
is decoded here once and a string that is not JSON is an error with a stable code.

Only structure lives here. Semantic rules (orphan tool results, undeclared tools, ...) belong
to ``dialogkit.validate`` so they can be reported as warnings or disabled.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SCHEMA_VERSION = "1.0"

Scalar = Union[str, int, float, bool]
# A slot holds one value, or a list of acceptable values (SGD/MultiWOZ give several surface forms).
SlotValue = Union[Scalar, list[Scalar]]
# What a tool returned, or a tool message's content: any JSON value, or plain text.
JSONValue = Any

Expected = Literal["answer", "clarify", "confirm", "refuse", "call_tool", "inform", "greet", "bye", "other"]


class _Model(BaseModel):
    # extra="forbid": a misspelled field is an error that names it, never silently dropped.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------------------- tools
class FunctionSpec(_Model):
    """A function the assistant may call; ``parameters`` is a JSON Schema object."""

    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class ToolSpec(_Model):
    """Exactly OpenAI's ``tools`` entry: ``{"type": "function", "function": {...}}``.

    The flat form ``{"name", "description", "parameters"}`` (LLaMA-Factory, Axolotl) is
    accepted on input and normalised to the wrapped form.
    """

    type: Literal["function"] = "function"
    function: FunctionSpec

    @model_validator(mode="before")
    @classmethod
    def _wrap_flat(cls, data: Any) -> Any:
        if isinstance(data, dict) and "function" not in data and "name" in data:
            return {"type": "function", "function": data}
        return data

    @property
    def name(self) -> str:
        return self.function.name


class ToolCall(_Model):
    """One call the assistant makes. ``arguments`` is always a parsed JSON object."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: dict[str, JSONValue] = Field(default_factory=dict)

    @field_validator("arguments", mode="before")
    @classmethod
    def _parse_arguments(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as e:
                raise PydanticCustomError(
                    "tool_args_not_json",
                    "arguments are not valid JSON: {error}",
                    {"error": str(e)},
                ) from e
        if not isinstance(value, dict):
            raise PydanticCustomError(
                "tool_args_not_object",
                "arguments must be a JSON object, got {kind}",
                {"kind": type(value).__name__},
            )
        return value


# ------------------------------------------------------------------------------- dialog state
class DialogAct(_Model):
    """A dialog act (SGD/MultiWOZ style): ``INFORM(price_range=cheap)``."""

    act: str = Field(min_length=1)
    slot: str | None = None
    values: list[Scalar] = Field(default_factory=list)
    canonical_values: list[Scalar] | None = None
    domain: str | None = None


class FrameState(_Model):
    """The belief about one service or domain."""

    active_intent: str | None = None
    slots: dict[str, SlotValue] = Field(default_factory=dict)
    requested_slots: list[str] = Field(default_factory=list)


class DialogState(FrameState):
    """The belief the assistant holds when it replies.

    The top level is the frame of the service being talked about (``domain``). Multi-domain
    data (SGD, MultiWOZ) tracks other services in the same turn in ``frames``, keyed by
    service name, so no frame is lost and per-service DST metrics stay exact.
    """

    domain: str | None = None
    frames: dict[str, FrameState] = Field(default_factory=dict)


class Goal(_Model):
    """What the user wants to achieve (task-oriented dialogs)."""

    intents: list[str] = Field(default_factory=list)
    constraints: dict[str, SlotValue] = Field(default_factory=dict)
    requests: list[str] = Field(default_factory=list)
    booking: dict[str, JSONValue] = Field(default_factory=dict)
    description: str | None = None
    domains: dict[str, Goal] = Field(default_factory=dict)


# ----------------------------------------------------------------------------------- messages
class SystemMessage(_Model):
    role: Literal["system"]
    content: str
    train: bool | None = None


class UserMessage(_Model):
    role: Literal["user"]
    content: str
    acts: list[DialogAct] | None = None
    train: bool | None = None


class AssistantMessage(_Model):
    role: Literal["assistant"]
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    state: DialogState | None = None
    reasoning: str | None = None
    acts: list[DialogAct] | None = None
    train: bool | None = None
    expected: Expected | None = None


class ToolMessage(_Model):
    role: Literal["tool"]
    tool_call_id: str
    name: str
    content: JSONValue
    train: bool | None = None


Message = Annotated[
    Union[SystemMessage, UserMessage, AssistantMessage, ToolMessage],
    Field(discriminator="role"),
]
ROLES = ("system", "user", "assistant", "tool")


# ------------------------------------------------------------------------------------ records
class Metadata(BaseModel):
    """Where a dialog comes from. Known keys are typed; any other key is kept as is."""

    model_config = ConfigDict(extra="allow")

    domain: str | list[str] | None = None
    source: str | None = None
    split: str | None = None
    language: str | None = None
    provenance: dict[str, JSONValue] | None = None
    variant_of: str | None = None


class Dialog(_Model):
    """One conversation: the unit every dialogkit stage reads and writes."""

    id: str = Field(min_length=1)
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    goal: Goal | None = None
    metadata: Metadata = Field(default_factory=Metadata)

    @field_validator("id", mode="before")
    @classmethod
    def _id_to_str(cls, value: Any) -> Any:
        # Many sources use integer ids; keep them, as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def tool_names(self) -> set[str]:
        return {t.function.name for t in self.tools}


class PairMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    negative_type: str | None = None
    turn: int | None = None
    source_id: str | None = None
    provenance: dict[str, JSONValue] | None = None


class PreferencePair(_Model):
    """A preference pair at one assistant turn: the shared history and two continuations."""

    id: str = Field(min_length=1)
    prompt: list[Message]
    chosen: list[Message] = Field(min_length=1)
    rejected: list[Message] = Field(min_length=1)
    tools: list[ToolSpec] = Field(default_factory=list)
    metadata: PairMetadata = Field(default_factory=PairMetadata)

    @field_validator("chosen", "rejected")
    @classmethod
    def _assistant_side(cls, value: list[Any]) -> list[Any]:
        # A continuation may call tools and see their results, but never speaks for the user.
        if value and value[0].role != "assistant":
            raise PydanticCustomError(
                "pair_not_assistant", "a continuation must start with an assistant message"
            )
        for m in value:
            if m.role in ("user", "system"):
                raise PydanticCustomError(
                    "pair_not_assistant", "a continuation holds only assistant and tool messages"
                )
        return value


MessageAdapter: TypeAdapter[Any] = TypeAdapter(Message)


def dump(model: BaseModel) -> dict[str, Any]:
    """The canonical JSON-ready form: defaults left out, so files stay small and diffable."""
    return model.model_dump(mode="json", exclude_defaults=True)


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas shipped in ``schemas/``, generated from the models."""
    out = {}
    for name, model in (("dialog", Dialog), ("preference", PreferencePair)):
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://dialogkit.dev/schemas/{name}.schema.json"
        schema.setdefault("description", (model.__doc__ or "").strip().splitlines()[0])
        out[f"{name}.schema.json"] = schema
    return out
