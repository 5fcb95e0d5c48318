"""Optional LLM judge: user satisfaction 1-5 from an OpenAI-compatible endpoint, cached on disk.

The rubric (system prompt + user template with ``{transcript}`` and ``{goal}``) is a YAML file,
by default ``evaluators/rubrics/user_satisfaction.yaml``. Each request is cached under
``cache_dir`` keyed by the SHA-256 of the request (endpoint, model, messages, sampling), so a
rerun costs nothing and gives the same numbers. The reply must contain ``Score: N`` (or a
lone digit 1-5); anything else is recorded as a judge error and the dialog is left unscored.
A missing prediction scores 1 without a request.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from dialogkit.errors import MissingDependencyError, UsageError
from dialogkit.io import AtomicWriter
from dialogkit.schema import Dialog
from dialogkit.score.base import BaseScorer, Item, MetricSpec, ScorerOptions, mean_stat

EVALUATORS = Path(__file__).resolve().parents[2] / "evaluators"
_SCORE = re.compile(r"score\s*[:=]\s*\**\s*([1-5])\b", re.I)
_DIGIT = re.compile(r"^\s*([1-5])\s*$")


class JudgeOptions(ScorerOptions):
    model: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    rubric: str = str(EVALUATORS / "rubrics" / "user_satisfaction.yaml")
    cache_dir: str = str(Path.home() / ".cache" / "dialogkit" / "judge")
    temperature: float = 0.0
    max_tokens: int = 200
    timeout: float = 60.0
    max_retries: int = 2


def load_rubric(path: str | Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise UsageError(f"judge rubric {path}: {e}") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("system"), str)
        or not isinstance(data.get("template"), str)
    ):
        raise UsageError(f"judge rubric {path}: needs 'system' and 'template' strings")
    return {"system": data["system"], "template": data["template"]}


def transcript(dialog: Dialog) -> str:
    lines = []
    for m in dialog.messages:
        if m.role == "system":
            continue
        if m.role == "assistant" and m.tool_calls:
            calls = ", ".join(
                f"{c.name}({json.dumps(c.arguments, ensure_ascii=False)})" for c in m.tool_calls
            )
            lines.append(f"ASSISTANT calls: {calls}")
        if m.role == "tool":
            body = m.content if isinstance(m.content, str) else json.dumps(m.content, ensure_ascii=False)
            lines.append(f"TOOL {m.name}: {body}")
        elif m.content:
            lines.append(f"{m.role.upper()}: {m.content}")
    return "\n".join(lines)


def parse_score(text: str) -> int | None:
    m = _SCORE.search(text) or _DIGIT.match(text)
    return int(m.group(1)) if m else None


class JudgeScorer(BaseScorer):
    name = "judge"
    version = "1"
    higher_is_better = True
    Options = JudgeOptions
    metrics = (MetricSpec("user_satisfaction", "ratio", True, "LLM-judged user satisfaction, 1-5", "score"),)

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.rubric = load_rubric(self.options.rubric)
        self._client = None

    def request(self, pred: Dialog, ref: Dialog) -> dict[str, Any]:
        goal = ref.goal.model_dump_json(exclude_defaults=True) if ref.goal else "(not given)"
        user = self.rubric["template"].replace("{transcript}", transcript(pred)).replace("{goal}", goal)
        return {
            "model": self.options.model,
            "messages": [
                {"role": "system", "content": self.rubric["system"]},
                {"role": "user", "content": user},
            ],
            "temperature": self.options.temperature,
            "max_tokens": self.options.max_tokens,
        }

    def _cache_path(self, req: dict[str, Any]) -> Path:
        key = hashlib.sha256(
            json.dumps([self.options.base_url, req], sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        return Path(self.options.cache_dir) / key[:2] / f"{key}.json"

    def _complete(self, req: dict[str, Any]) -> str:
        path = self._cache_path(req)
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))["content"]
        if self._client is None:
            try:
                import openai
            except ImportError:
                raise MissingDependencyError("openai", "synth") from None
            self._client = openai.OpenAI(
                base_url=self.options.base_url,
                timeout=self.options.timeout,
                api_key=os.environ.get(self.options.api_key_env) or "EMPTY",
                max_retries=self.options.max_retries,
            )
        resp = self._client.chat.completions.create(**req)
        content = resp.choices[0].message.content or ""
        with AtomicWriter(path) as fh:
            fh.write(json.dumps({"request": req, "content": content}, ensure_ascii=False).encode())
        return content

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        if pred is None:
            return [Item(ref.id, None, {"user_satisfaction": mean_stat(1)}, {"judge": "missing prediction"})]
        try:
            reply = self._complete(self.request(pred, ref))
        except MissingDependencyError:
            raise
        except Exception as e:  # noqa: BLE001 - an endpoint failure must not lose the other metrics
            return [Item(ref.id, None, {}, {"judge_error": f"{type(e).__name__}: {e}"[:300]})]
        value = parse_score(reply)
        if value is None:
            return [Item(ref.id, None, {}, {"judge_error": f"no score in reply: {reply[:200]!r}"})]
        return [Item(ref.id, None, {"user_satisfaction": mean_stat(value)}, {"judge_score": value})]

    def summarize(self, items: list[Item]) -> dict[str, Any]:
        errors = [it.info["judge_error"] for it in items if "judge_error" in it.info]
        return {"judge": {"model": self.options.model, "errors": len(errors), "examples": errors[:3]}}
