"""One training config: dialogkit's own keys plus any TRL / transformers training argument by name.

A run is described by a single pydantic model (``extra="forbid"``: a typo is an error that names
the key). It comes from an optional YAML file, then ``--set key=value`` overrides. A key that is
not one of dialogkit's own goes, in this order, to ``prepare`` (a ``PrepareConfig`` field such as
``max_length``) or to ``training`` (a field of the TRL config class of the method: ``SFTConfig``,
``DPOConfig``, ``CPOConfig``, ``ORPOConfig``, which include every ``TrainingArguments`` field).
So ``--set learning_rate=1e-4`` and ``--set prepare.max_length=512`` both work, and so do the same
keys in YAML. The resolved config is written to ``RUN/config.yaml`` and can be reused with
``--config``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dialogkit.errors import InputError, UsageError

Method = Literal["sft", "dpo", "simpo", "orpo"]
Adapter = Literal["full", "lora", "qlora", "dora"]

# Keys dialogkit sets itself on the TRL config; a user setting them would break the run layout.
RESERVED_TRAINING_KEYS = {"output_dir", "resume_from_checkpoint"}
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)$")


class TrainConfig(BaseModel):
    """Everything a training run needs; the resolved form is saved as ``RUN/config.yaml``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    method: Method = "sft"
    model: str | None = Field(default=None, description="local folder, SFT run folder, or hub id")
    tokenizer: str | None = Field(default=None, description="tokenizer folder if not the model's")
    data: str | None = None
    eval_data: str | None = None
    data_format: str = Field(default="dialogkit", description="input format of --data (see `convert`)")
    eval_fraction: float = Field(default=0.05, ge=0.0, lt=1.0,
                                 description="held-out share when no eval_data; by dialog, needs >= 20 records")
    chat_template: str | None = Field(default=None, description="a .jinja file replacing the tokenizer's template")

    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    trust_remote_code: bool = False
    attn_implementation: str | None = None

    adapter: Adapter = "lora"
    lora_r: int = Field(default=16, gt=0)
    lora_alpha: int = Field(default=32, gt=0)
    lora_dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    lora_target_modules: list[str] | Literal["auto", "all-linear"] = "auto"
    lora_modules_to_save: list[str] | None = None
    use_rslora: bool = False

    early_stopping_patience: int | None = Field(default=None, gt=0)
    early_stopping_threshold: float = 0.0
    merge: bool = Field(default=False, description="also save a merged full model in RUN/final/merged")

    # Continual learning (train sft only; see dialogkit.train.continual and docs/continual.md).
    init_from: str | None = Field(default=None, description="previous run to continue (its final/ or final/merged)")
    replay: float = Field(default=0.0, ge=0.0, lt=1.0,
                          description="share of the training mix drawn from earlier runs' training data")
    replay_from: list[str] | None = Field(default=None, description="runs to replay from (default: the lineage)")
    regularize: Literal["none", "kl", "l2sp"] = "none"
    reg_strength: float | None = Field(default=None, ge=0.0, description="default: 1.0 for kl, 0.1 for l2sp")
    freeze: list[str] = Field(default_factory=list, description="parameter-name globs, or first:N blocks")
    forgetting: bool = Field(default=True, description="write forgetting.json/.html for an --init-from run")
    forgetting_max_dialogs: int = Field(default=200, gt=0, description="dev dialogs evaluated per data set")
    forgetting_suite: str | None = Field(default="auto",
                                         description="scorer suite for generated turns: auto, none, or a suite")
    forgetting_generate_dialogs: int = Field(default=16, ge=0,
                                             description="dev dialogs per set to generate and score (0: none)")

    prepare: dict[str, Any] = Field(default_factory=dict, description="dialogkit.prepare.PrepareConfig fields")
    training: dict[str, Any] = Field(default_factory=dict, description="TRL / TrainingArguments fields by name")

    @field_validator("freeze", "replay_from", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # ``--set freeze=first:2`` gives one string; YAML and repeated CLI options give a list.
        return [value] if isinstance(value, str) else value

    @field_validator("training")
    @classmethod
    def _no_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = sorted(RESERVED_TRAINING_KEYS & set(value))
        if bad:
            raise ValueError(f"{', '.join(bad)} is set by dialogkit (use --output / --resume)")
        return value


# ------------------------------------------------------------------------------ TRL classes
def trl_config_class(method: str) -> type:
    """The TRL config dataclass a method trains with (imports TRL: call only when training)."""
    import os

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    if method == "sft":
        from trl import SFTConfig

        return SFTConfig
    if method == "dpo":
        from trl import DPOConfig

        return DPOConfig
    if method == "simpo":
        from trl.experimental.cpo import CPOConfig

        return CPOConfig
    if method == "orpo":
        from trl.experimental.orpo import ORPOConfig

        return ORPOConfig
    raise UsageError(f"unknown training method {method!r} (expected sft, dpo, simpo or orpo)")


def trl_field_names(method: str) -> set[str]:
    """Names ``training`` accepts for ``method``: the TRL config's fields, TrainingArguments included."""
    return {f.name for f in dataclasses.fields(trl_config_class(method)) if f.init}


def prepare_field_names() -> set[str]:
    """Fields of ``dialogkit.prepare.PrepareConfig`` (empty while that module is missing)."""
    try:
        from dialogkit.prepare import PrepareConfig
    except ImportError:
        return set()
    return set(PrepareConfig.model_fields)


# ------------------------------------------------------------------------------- loading
def parse_value(text: str) -> Any:
    """A ``--set`` value: YAML scalars/lists (``true``, ``8``, ``[q_proj, v_proj]``), and ``1e-4`` as a float."""
    if _FLOAT_RE.match(text.strip()):
        return float(text)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _fix_floats(value: Any) -> Any:
    # PyYAML reads ``1e-4`` (no dot) as a string; every user writes learning rates that way.
    if isinstance(value, str) and _FLOAT_RE.match(value.strip()):
        return float(value)
    if isinstance(value, dict):
        return {k: _fix_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fix_floats(v) for v in value]
    return value


def parse_sets(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["a=1", "prepare.max_length=512"]`` -> ``{"a": 1, "prepare.max_length": 512}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected key=value")
        out[key.strip()] = parse_value(raw)
    return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise UsageError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a config file must be a mapping of keys to values")
    return _fix_floats(data)


def _unknown(key: str, known: set[str], where: str) -> UsageError:
    close = difflib.get_close_matches(key.split(".")[-1], sorted(known), n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return UsageError(f"unknown config key {key!r}{where}.{hint}")


def _route(raw: dict[str, Any], method: str, source: str) -> dict[str, Any]:
    """Put each key where it belongs: own field, ``prepare.<k>`` or ``training.<k>``; unknown keys fail."""
    own = set(TrainConfig.model_fields)
    prep_names = prepare_field_names()
    trl_names: set[str] | None = None
    out: dict[str, Any] = {}
    for key, value in raw.items():
        head, _, rest = key.partition(".")
        if rest and head in ("prepare", "training"):
            out.setdefault(head, {})[rest] = value
            continue
        if rest:
            raise _unknown(key, own, f" in {source}")
        if head in ("prepare", "training"):
            if not isinstance(value, dict):
                raise UsageError(f"{source}: {head!r} must be a mapping")
            out.setdefault(head, {}).update(value)
        elif head in own:
            out[head] = value
        elif head in prep_names:
            out.setdefault("prepare", {})[head] = value
        else:
            trl_names = trl_names if trl_names is not None else trl_field_names(method)
            if head not in trl_names:
                raise _unknown(key, own | prep_names | trl_names, f" in {source}")
            out.setdefault("training", {})[head] = value
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        if k in ("prepare", "training") and isinstance(v, dict):
            merged[k] = {**merged.get(k, {}), **v}
        else:
            merged[k] = v
    return merged


def load_config(method: str, *, yaml_path: str | Path | None = None, base: dict[str, Any] | None = None,
                sets: dict[str, Any] | None = None, cli: dict[str, Any] | None = None) -> TrainConfig:
    """Resolve a run's config: ``base`` (a resumed run's) < YAML < ``cli`` options < ``--set``.

    Raises:
        UsageError: an unknown key (named, with suggestions) or an invalid value (exit code 2).
    """
    layers: list[tuple[dict[str, Any], str]] = []
    if base:
        layers.append((base, "the run's config.yaml"))
    if yaml_path is not None:
        layers.append((read_yaml(yaml_path), str(yaml_path)))
    if cli:
        layers.append(({k: v for k, v in cli.items() if v is not None}, "options"))
    if sets:
        layers.append((sets, "--set"))
    resolved: dict[str, Any] = {}
    for raw, source in layers:
        resolved = _merge(resolved, _route(raw, method, source))
    if resolved.get("method", method) != method:
        raise UsageError(f"config says method {resolved['method']!r} but the command is 'train {method}'")
    resolved["method"] = method
    try:
        cfg = TrainConfig.model_validate(resolved)
    except ValidationError as e:
        msgs = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors(include_url=False)]
        raise UsageError("invalid config: " + "; ".join(msgs)) from None
    _check_training_keys(cfg)
    _check_prepare_keys(cfg)
    return cfg


def _check_training_keys(cfg: TrainConfig) -> None:
    if not cfg.training:
        return
    names = trl_field_names(cfg.method)
    for key in cfg.training:
        if key not in names:
            raise _unknown(f"training.{key}", names, f" for train {cfg.method}")


def _check_prepare_keys(cfg: TrainConfig) -> None:
    names = prepare_field_names()
    if not cfg.prepare or not names:
        return
    for key in cfg.prepare:
        if key not in names:
            raise _unknown(f"prepare.{key}", names, "")


def dump_config(cfg: TrainConfig) -> str:
    """YAML text of the resolved config, loadable again with ``--config``."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
