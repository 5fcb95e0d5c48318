"""The scenario's entity database and its deterministic tools.

``Database`` loads the tables once (read-only, shared); ``Session`` is one dialog's view of
it: bookings made and rows changed live in the session, so dialogs never leak into each
other and the final state of a dialog can be recorded and compared (the tau-bench idea:
success is the final database, not the wording).

``Session.execute(name, arguments)`` is the one entry point the rule-based policy and, later,
an LLM assistant in self-play use. It never raises for bad calls: unknown tools, arguments
that break the tool's JSON Schema, missing rows, failed checks all come back as
``{"error": {"code": ..., "message": ...}}`` objects, because that is what a model must learn
to read and recover from.
"""

from __future__ import annotations

import csv
import json
import zlib
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError
from dialogkit.synth.check import argument_errors
from dialogkit.synth.scenario import LoadedScenario, TableSpec, ToolDef

_CAST = {"integer": int, "number": float, "string": str}


def stable_int(*parts: Any) -> int:
    """A process-independent hash (``hash()`` is salted per process)."""
    return zlib.crc32(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode())


def error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def number(x: float) -> int | float:
    """553.0 -> 553, 54.5 stays: prices read naturally and compare exactly."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _load_table(base: Path, name: str, spec: TableSpec) -> list[dict[str, Any]]:
    path = base / spec.file
    try:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                rows = [dict(r) for r in csv.DictReader(fh)]
            for r in rows:
                for col, typ in spec.types.items():
                    if r.get(col, "") != "":
                        r[col] = number(_CAST[typ](r[col])) if typ != "string" else r[col]
            return rows
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: table {name!r} cannot be read: {e}") from e
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path}: table {name!r} must be a JSON array of objects")
    return data


class Database:
    """Read-only tables and compiled tool validators of one scenario."""

    def __init__(self, scenario: LoadedScenario):
        self.scenario = scenario
        spec = scenario.spec
        self.tables = {n: _load_table(scenario.base_dir, n, t) for n, t in spec.tables.items()}
        self.tools: dict[str, ToolDef] = dict(spec.tools)
        self._indexes: dict[tuple[str, tuple[str, ...]], dict[tuple[str, ...], list[int]]] = {}
        # Columns some tool rewrites: an index on them would go stale inside a session.
        self.mutable = {(t.impl.table, c) for t in spec.tools.values() for c in t.impl.set}

    def index(self, table: str, cols: tuple[str, ...]) -> dict[tuple[str, ...], list[int]]:
        """Row numbers by case-folded values of ``cols`` (built on first use)."""
        key = (table, cols)
        idx = self._indexes.get(key)
        if idx is None:
            idx = {}
            for i, r in enumerate(self.tables[table]):
                idx.setdefault(tuple(str(r.get(c, "")).casefold() for c in cols), []).append(i)
            self._indexes[key] = idx
        return idx

    def session(self) -> Session:
        return Session(self)

    def tool_specs(self) -> list[dict[str, Any]]:
        """The ``Dialog.tools`` entries in canonical form (``type: function`` is the default), in scenario order."""
        return [
            {"function": {"name": n, "description": t.description, "parameters": t.parameters}}
            for n, t in self.tools.items()
        ]

    def argument_errors(self, name: str, arguments: dict[str, Any]) -> list[str]:
        tool = self.tools.get(name)
        if tool is None:
            return [f"unknown tool {name!r}"]
        return argument_errors(tool.parameters, arguments)


class Session:
    """One dialog's database: shared rows plus this dialog's bookings and changes."""

    def __init__(self, db: Database):
        self.db = db
        self.bookings: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self._changed: dict[tuple[str, int], dict[str, Any]] = {}

    # ------------------------------------------------------------------------------ rows
    def _rows(self, table: str) -> list[tuple[int, dict[str, Any]]]:
        return [(i, self._changed.get((table, i), r)) for i, r in enumerate(self.db.tables[table])]

    @staticmethod
    def _matches(row: dict[str, Any], cond: dict[str, str], args: dict[str, Any]) -> bool:
        for col, arg in cond.items():
            if arg in args and str(row.get(col, "")).casefold() != str(args[arg]).casefold():
                return False
        return True

    @staticmethod
    def _within(row: dict[str, Any], cond: dict[str, str], args: dict[str, Any]) -> bool:
        for col, arg in cond.items():
            if arg in args and not (isinstance(row.get(col), (int, float)) and row[col] <= args[arg]):
                return False
        return True

    def _find(self, tool: ToolDef, args: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        impl = tool.impl
        cols = tuple(c for c, a in impl.match.items() if a in args)
        if cols and not any((impl.table, c) in self.db.mutable for c in cols):
            key = tuple(str(args[impl.match[c]]).casefold() for c in cols)
            base = self.db.tables[impl.table]
            cands = [(i, self._changed.get((impl.table, i), base[i])) for i in self.db.index(impl.table, cols).get(key, ())]
        else:
            cands = self._rows(impl.table)
        return [(i, r) for i, r in cands if self._matches(r, impl.match, args) and self._within(r, impl.max, args)]

    @staticmethod
    def _project(row: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        return {k: row[k] for k in fields if k in row} if fields else dict(row)

    # ---------------------------------------------------------------------------- execute
    def execute(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run tool ``name``; the result (or error object) is plain JSON."""
        tool = self.db.tools.get(name)
        if tool is None:
            return error("UNKNOWN_TOOL", f"no tool named {name!r}")
        if not isinstance(arguments, dict):
            return error("INVALID_ARGUMENTS", "arguments must be a JSON object")
        problems = self.db.argument_errors(name, arguments)
        if problems:
            return error("INVALID_ARGUMENTS", "; ".join(problems))
        op = getattr(self, f"_op_{tool.impl.op}")
        return op(name, tool, arguments)

    def _checked_one(self, tool: ToolDef, args: dict[str, Any]) -> tuple[int, dict[str, Any]] | dict[str, Any]:
        impl = tool.impl
        found = self._find(tool, args)
        if not found:
            what = ", ".join(f"{a}={args[a]}" for a in impl.match.values() if a in args)
            return error("NOT_FOUND", f"no {impl.table} record matches {what}")
        i, row = found[0]
        for col, arg in impl.auth.items():
            if str(row.get(col, "")).casefold() != str(args.get(arg, "")).casefold():
                return error("UNAUTHORIZED", f"the {arg} given does not match this record")
        for req in impl.require:
            if row.get(req.column) not in req.values:
                return error(req.code, req.message.format(**row))
        if impl.fail is not None:
            key = [args.get(k) for k in impl.fail.key]
            if stable_int(tool.impl.table, key) % 10_000 < impl.fail.rate * 10_000:
                return error(impl.fail.code, impl.fail.message.format(**args))
        return i, row

    def _op_lookup(self, name: str, tool: ToolDef, args: dict[str, Any]) -> dict[str, Any]:
        got = self._checked_one(tool, args)
        if isinstance(got, dict):
            return got
        return self._project(got[1], tool.impl.fields)

    def _op_search(self, name: str, tool: ToolDef, args: dict[str, Any]) -> dict[str, Any]:
        impl = tool.impl
        rows = [r for _, r in self._find(tool, args)]
        for key in reversed(impl.sort):
            rows.sort(key=lambda r: (r.get(key) is None, r.get(key)))
        return {"count": len(rows), "results": [self._project(r, impl.fields) for r in rows[: impl.limit]]}

    def _new_id(self, tool: ToolDef, args: dict[str, Any]) -> str:
        n = stable_int(tool.impl.table, args, len(self.bookings) + len(self.updates)) % 900_000 + 100_000
        return f"{tool.impl.id_prefix}{n}"

    def _op_book(self, name: str, tool: ToolDef, args: dict[str, Any]) -> dict[str, Any]:
        impl = tool.impl
        got = self._checked_one(tool, args)
        if isinstance(got, dict):
            return got
        row = got[1]
        rec: dict[str, Any] = {impl.id_field: self._new_id(tool, args), "status": "confirmed"}
        rec.update(self._project(row, impl.fields))
        rec.update({k: args[k] for k in impl.record if k in args})
        if impl.price:
            qty = args.get(impl.quantity, 1) if impl.quantity else 1
            rec[impl.total_field] = number(round(float(row[impl.price]) * qty, 2))
        self.bookings.append({"tool": name, **rec})
        return rec

    def _op_update(self, name: str, tool: ToolDef, args: dict[str, Any]) -> dict[str, Any]:
        impl = tool.impl
        got = self._checked_one(tool, args)
        if isinstance(got, dict):
            return got
        i, row = got
        new = {**row, **impl.set}
        self._changed[(impl.table, i)] = new
        rec: dict[str, Any] = {impl.id_field: self._new_id(tool, args)} if impl.id_prefix else {}
        rec.update(self._project(new, impl.fields))
        rec.update({k: args[k] for k in impl.record if k in args})
        self.updates.append({"tool": name, **rec})
        return rec

    def _op_plan(self, name: str, tool: ToolDef, args: dict[str, Any]) -> dict[str, Any]:
        impl = tool.impl
        rows = [r for _, r in self._find(tool, args)]
        if not rows:
            return error("NOT_FOUND", f"no {impl.table} known for this request")
        days = int(args.get(impl.days or "", 1))
        budget = float(args.get(impl.budget or "", 0) or 0)
        rows.sort(key=lambda r: (-float(r.get(impl.rank or "", 0)), str(r.get(impl.item))))
        picked, spent = [], 0.0
        for r in rows:
            cost = float(r.get(impl.cost or "", 0))
            if len(picked) < days * impl.per_day and spent + cost <= budget:
                picked.append(r)
                spent += cost
        if not picked:
            return error("OVER_BUDGET", "no plan fits this budget")
        plan = [
            {"day": d + 1, "items": [r[impl.item] for r in picked[d * impl.per_day:(d + 1) * impl.per_day]]}
            for d in range(days)
        ]
        plan = [p for p in plan if p["items"]]
        return {"itinerary": plan, "total_cost": number(round(spent, 2)), "budget": args.get(impl.budget or "")}

    def final_state(self) -> dict[str, Any]:
        """What this dialog changed: recorded in metadata so task success can be checked."""
        return {"bookings": list(self.bookings), "updates": list(self.updates)}
