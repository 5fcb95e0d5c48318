"""The scenario model: one YAML file describes a task-oriented domain completely.

A scenario names its slots (with value sets), its tools (JSON Schema parameters plus a
declarative ``impl`` that :mod:`dialogkit.synth.db` executes over a small entity database),
its intents (required/optional slots, which tool searches, which tool acts, whether the act
is transactional), personas, languages, policy options and the template texts. Everything
is data: ``generators/`` holds no Python, so a scenario can be reviewed, diffed and hashed.

Every model is ``extra="forbid"``: a misspelled key in a scenario is an error that names it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dialogkit.errors import InputError, Issue, RecordError
from dialogkit.records import issues_from_error

Scalar = Union[str, int, float, bool]
# language code -> several variants of one text (the NLG picks one per use)
Variants = dict[str, list[str]]
# language code -> one text
Text = dict[str, str]

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATORS_DIR = REPO_ROOT / "generators"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TableSpec(_M):
    """One table of the entity database: a JSON array of objects or a CSV file."""

    file: str = Field(description="Path relative to the scenario file (.json or .csv).")
    types: dict[str, Literal["string", "integer", "number"]] = Field(
        default_factory=dict, description="Column types for CSV files (default string)."
    )


class FailRule(_M):
    """A deterministic failure: a stable hash of the named arguments decides (no randomness)."""

    rate: float = Field(ge=0, le=1)
    key: list[str] = Field(description="Arguments whose values are hashed.")
    code: str
    message: str


class Requirement(_M):
    """The matched row must have ``column`` in ``values``; otherwise the tool returns ``code``."""

    column: str
    values: list[Scalar]
    code: str
    message: str = Field(description="May name row columns: 'order is {status}'.")


class ToolImpl(_M):
    """What a tool does over the database. One generic operation per tool.

    - ``lookup``: the first row matching ``match`` (``NOT_FOUND`` otherwise).
    - ``search``: rows matching ``match`` and ``max`` (column <= argument), sorted, limited.
    - ``book``: a matching row becomes a booking record with a stable id and a total.
    - ``update``: a matching row is changed (``set``) after ``require`` checks.
    - ``plan``: rows of ``match`` picked by ``rank`` under a budget, spread over days.
    """

    op: Literal["lookup", "search", "book", "update", "plan"]
    table: str
    match: dict[str, str] = Field(default_factory=dict, description="column -> argument (equality).")
    max: dict[str, str] = Field(default_factory=dict, description="column -> argument (column <= argument).")
    auth: dict[str, str] = Field(default_factory=dict, description="column -> argument that must match, else UNAUTHORIZED.")
    fields: list[str] | None = Field(default=None, description="Columns returned (default all).")
    sort: list[str] = Field(default_factory=list)
    limit: int = 5
    require: list[Requirement] = Field(default_factory=list)
    fail: FailRule | None = None
    set: dict[str, Scalar] = Field(default_factory=dict, description="update: column -> new value.")
    record: list[str] = Field(default_factory=list, description="book/update: arguments copied into the record.")
    id_prefix: str = "R"
    id_field: str = "booking_id"
    price: str | None = Field(default=None, description="book: row column of the unit price.")
    quantity: str | None = Field(default=None, description="book: argument multiplying the price.")
    total_field: str = "total"
    budget: str | None = Field(default=None, description="plan: budget argument.")
    days: str | None = Field(default=None, description="plan: number-of-days argument.")
    cost: str | None = Field(default=None, description="plan: row column of the cost.")
    rank: str | None = Field(default=None, description="plan: row column ranked high to low.")
    per_day: int = 2
    item: str = Field(default="name", description="plan: row column naming an item.")


class ToolDef(_M):
    description: str
    parameters: dict[str, Any]
    impl: ToolImpl
    transactional: bool = False


class SlotDef(_M):
    description: Text = Field(default_factory=dict)
    type: Literal["string", "integer", "number"] = "string"
    values: list[Scalar] | dict[str, list[Scalar]] | None = Field(
        default=None, description="Value set, shared or per language."
    )
    ask: Variants = Field(default_factory=dict, description="Assistant questions for this slot.")
    inform: Variants = Field(default_factory=dict, description="User phrases giving this slot: '从{origin}出发'.")

    def values_for(self, lang: str) -> list[Scalar]:
        if isinstance(self.values, dict):
            return list(self.values.get(lang, []))
        return list(self.values or [])


class ListFormat(_M):
    """Renders a list field of a result, e.g. the days of an itinerary."""

    field: str
    item: Text
    sep: Text = Field(default_factory=lambda: {"zh": "；", "en": "; "})


class IntentDef(_M):
    domain: str | None = None
    description: Text = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list)
    search: str | None = Field(default=None, description="Tool finding candidates; the first is offered.")
    entity: dict[str, str] = Field(default_factory=dict, description="slot -> field of the offered result.")
    tool: str | None = Field(default=None, description="Tool that answers or acts once slots are known.")
    args: dict[str, str] = Field(default_factory=dict, description="tool argument -> slot (default: same name).")
    search_args: dict[str, str] = Field(default_factory=dict, description="search argument -> slot.")
    requestable: list[str] = Field(default_factory=list, description="Result fields the user may ask about.")
    sample_from: str | None = Field(default=None, description="Table whose rows seed feasible goals.")
    sample_map: dict[str, str] = Field(default_factory=dict, description="slot -> column of sample_from.")
    sample_where: dict[str, list[Scalar]] = Field(default_factory=dict, description="Row filter for sampling.")
    weight: float = 1.0
    open: Variants = Field(default_factory=dict, description="User openings: '我想查{origin}到{destination}的票价。'")
    follow: Variants = Field(default_factory=dict, description="Openings when chained after another intent.")
    no_results: Variants = Field(default_factory=dict, description="Said when the search finds nothing.")
    offer: Variants = Field(default_factory=dict)
    confirm: Variants = Field(default_factory=dict)
    inform: Variants = Field(default_factory=dict, description="Answer once the tool result is in.")
    lists: dict[str, ListFormat] = Field(default_factory=dict)

    def slots(self) -> list[str]:
        return self.required + [s for s in self.optional if s not in self.required]


class RequestDef(_M):
    """A result field the user may ask about, with how they ask and how it is answered."""

    description: Text = Field(default_factory=dict)
    user: Variants
    answer: Variants


class Persona(_M):
    name: str
    description: Text
    weight: float = 1.0
    overinform: float = Field(0.5, ge=0, le=1, description="Chance the opening names many slots.")
    polite: float = Field(0.3, ge=0, le=1, description="Chance of a greeting before the request.")
    change_mind: float = Field(0.1, ge=0, le=1, description="Chance of changing a slot at confirmation.")
    requests: float = Field(0.6, ge=0, le=1, description="Chance of asking a follow-up question.")


class AsideDef(_M):
    """A request the assistant must refuse: out of scope, or not authorized."""

    kind: Literal["out_of_scope", "unauthorized"]
    user: Variants
    assistant: Variants


class ErrorDef(_M):
    expected: Literal["refuse", "inform"] = "inform"
    recover: Literal["none", "next_result"] = "none"
    assistant: Variants


class PolicyOptions(_M):
    clarify: bool = True
    confirm: bool = True
    refuse: bool = True
    max_ask: int = Field(2, ge=1, description="Most slots asked in one question.")
    max_results_offered: int = 1


class GoalOptions(_M):
    two_intents: float = Field(0.25, ge=0, le=1, description="Chance a goal chains two intents.")
    chains: list[list[str]] = Field(default_factory=list, description="Intent pairs that may chain.")
    aside: float = Field(0.15, ge=0, le=1, description="Chance of an out-of-scope/unauthorized aside.")
    infeasible: float = Field(0.1, ge=0, le=1, description="Chance the first stated value finds nothing.")
    wrong_auth: float = Field(0.0, ge=0, le=1, description="Chance the user gives credentials of someone else.")
    unsampled_rows: float = Field(0.0, ge=0, le=1, description="Chance sample_where is ignored (goal may fail).")


class Scenario(_M):
    """One synthesis scenario (generators/*.yaml)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str = "1"
    description: str = ""
    domain: str
    languages: list[Literal["zh", "en"]] = Field(min_length=1)
    license: str | None = None
    system_prompt: Text
    tables: dict[str, TableSpec]
    slots: dict[str, SlotDef]
    tools: dict[str, ToolDef]
    intents: dict[str, IntentDef] = Field(min_length=1)
    requests: dict[str, RequestDef] = Field(default_factory=dict)
    personas: list[Persona] = Field(min_length=1)
    asides: list[AsideDef] = Field(default_factory=list)
    errors: dict[str, ErrorDef] = Field(default_factory=dict)
    labels: dict[str, dict[str, Text]] = Field(
        default_factory=dict, description="field -> value -> language -> display text ({x|label})."
    )
    nlg: dict[str, Variants] = Field(default_factory=dict, description="Overrides of generic acts (bye, req_more ...).")
    policy: PolicyOptions = Field(default_factory=PolicyOptions)
    goals: GoalOptions = Field(default_factory=GoalOptions)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        # Catch dangling names at load time, not half-way through generating 10,000 dialogs.
        problems = []
        for iname, intent in self.intents.items():
            for s in intent.slots():
                if s not in self.slots:
                    problems.append(f"intents.{iname}: unknown slot {s!r}")
            for t in (intent.search, intent.tool):
                if t is not None and t not in self.tools:
                    problems.append(f"intents.{iname}: unknown tool {t!r}")
            for r in intent.requestable:
                if r not in self.requests:
                    problems.append(f"intents.{iname}.requestable: {r!r} is not defined under requests")
            if intent.sample_from and intent.sample_from not in self.tables:
                problems.append(f"intents.{iname}.sample_from: unknown table {intent.sample_from!r}")
            for lang in self.languages:
                if not intent.open.get(lang):
                    problems.append(f"intents.{iname}.open: no '{lang}' templates")
        for tname, tool in self.tools.items():
            if tool.impl.table not in self.tables:
                problems.append(f"tools.{tname}.impl.table: unknown table {tool.impl.table!r}")
        for chain in self.goals.chains:
            for i in chain:
                if i not in self.intents:
                    problems.append(f"goals.chains: unknown intent {i!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class LoadedScenario:
    """A validated scenario plus where it came from and a hash of everything it depends on."""

    def __init__(self, scenario: Scenario, path: Path, digest: str):
        self.spec = scenario
        self.path = path
        self.base_dir = path.parent
        self.hash = digest

    @property
    def name(self) -> str:
        return self.spec.name


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """A file path, or the name of a shipped scenario (``zh_travel`` -> generators/zh_travel.yaml)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    for cand in (GENERATORS_DIR / f"{name_or_path}.yaml", GENERATORS_DIR / str(name_or_path)):
        if cand.is_file():
            return cand
    shipped = ", ".join(shipped_scenarios()) or "none"
    raise InputError(f"{name_or_path}: no such scenario file (shipped scenarios: {shipped})")


def shipped_scenarios() -> list[str]:
    if not GENERATORS_DIR.is_dir():
        return []
    return sorted(p.stem for p in GENERATORS_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> LoadedScenario:
    """Read, validate and hash a scenario.

    Raises:
        InputError: the file is missing or is not YAML.
        RecordError: the scenario does not match the model; issues name the field.
    """
    path = resolve_scenario_path(name_or_path)
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"{path}:{line}: not valid YAML: {getattr(e, 'problem', e)}") from e
    if not isinstance(data, dict):
        raise RecordError([Issue("TYPE_WRONG", "a scenario must be a YAML mapping", str(path))])
    try:
        spec = Scenario.model_validate(data)
    except ValidationError as e:
        issues = issues_from_error(e, file=str(path), record_id=str(data.get("name", "")) or None)
        raise RecordError(issues) from e
    digest = hashlib.sha256(raw)
    for tname in sorted(spec.tables):
        tpath = path.parent / spec.tables[tname].file
        if not tpath.is_file():
            raise InputError(f"{path}: tables.{tname}.file: {tpath} does not exist")
        digest.update(tpath.read_bytes())
    return LoadedScenario(spec, path, digest.hexdigest())


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema shipped as schemas/scenario.schema.json."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://dialogkit.dev/schemas/scenario.schema.json"
    schema["description"] = "One dialogkit synthesis scenario (generators/*.yaml)."
    return schema


def scenario_schema_text() -> str:
    return json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m dialogkit.synth.scenario > schemas/scenario.schema.json
    import sys

    sys.stdout.write(scenario_schema_text())
