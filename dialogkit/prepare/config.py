"""Options of ``dialogkit prepare`` and the report of what it did."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LossOn = Literal["assistant", "last", "all"]
PerTurn = Literal["auto", "always", "never"]


class PrepareConfig(BaseModel):
    """How dialogs become training rows.

    Attributes:
        max_length: token budget per row; longer dialogs lose their oldest whole turns
            (system and tools are kept). ``None``: nothing is cut.
        loss_on: ``assistant`` trains every assistant turn, ``last`` the final one, ``all``
            every token. A message's own ``train`` flag beats this.
        per_turn: ``auto`` makes one row per trained turn when the template is not
            prefix-stable (or a tokenizer merges across the prompt boundary); ``always`` does
            it for every dialog; ``never`` keeps one row per dialog and warns.
        pack: best-fit-decreasing packing into ``max_length`` with per-sample ``position_ids``.
        summary: when turns are dropped, add a summary of them to the system message (from
            the dialog's ``metadata[summary_key]`` or a summarizer hook).
        verify: check every trained turn against the inference-time prompt (slower; what
            ``inspect --check`` does).
        chat_template_kwargs: extra template variables, e.g. ``{"enable_thinking": false}``.
    """

    model_config = ConfigDict(extra="forbid")

    max_length: int | None = Field(default=None, ge=8)
    loss_on: LossOn = "assistant"
    per_turn: PerTurn = "auto"
    pack: bool = False
    summary: bool = False
    summary_key: str = "summary"
    summary_prefix: str = "Summary of the earlier conversation: "
    verify: bool = False
    chat_template_kwargs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _pack_needs_length(self) -> PrepareConfig:
        if self.pack and self.max_length is None:
            raise ValueError("pack needs max_length (the length of a packed row)")
        return self


@dataclass
class PrepareReport:
    """Counts of one run; reports from several workers add up with :meth:`merge`."""

    dialogs: int = 0
    bad_dialogs: int = 0
    rows: int = 0
    tokens: int = 0
    trained_tokens: int = 0
    trained_turns: int = 0
    truncated_dialogs: int = 0
    dropped_turns: int = 0  # whole turns removed from rows' histories
    lost_trained_turns: int = 0  # trained turns no row contains any more
    summaries: int = 0
    too_long: int = 0  # rows that could not fit even with one turn left
    boundary_merges: int = 0  # a token crossed the prompt/completion boundary
    per_turn_dialogs: int = 0  # dialogs written as one row per trained turn
    unstable_dialogs: int = 0  # dialogs whose rendering is not prefix-stable
    skipped_turns: int = 0
    verify_failures: int = 0
    packed_rows: int = 0
    packing_efficiency: float | None = None
    # facts about the template and tokenizer, not counts
    template_tagged: bool | None = None
    template_stable: bool | None = None
    template_note: str | None = None
    piece_cache: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _FACTS = ("template_tagged", "template_stable", "template_note", "piece_cache", "packing_efficiency", "extra")

    def merge(self, other: PrepareReport) -> None:
        for f in fields(self):
            if f.name in self._FACTS:
                if getattr(self, f.name) is None:
                    setattr(self, f.name, getattr(other, f.name))
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
