"""One registry pattern for converters, scorers and generators (lm-eval style).

Built-ins are registered exactly like third-party plugins: lazily by ``"module:attr"`` so
that listing the registry never imports torch, or eagerly with the decorator. Plugins come
from the entry-point group ``dialogkit.<kind>`` (e.g. ``dialogkit.scorers``).
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from dialogkit.errors import DialogkitError, UsageError

T = TypeVar("T")


class RegistryError(DialogkitError):
    pass


class Registry(Generic[T]):
    """A named collection of ``T`` with lazy entries, duplicate checks and helpful misses."""

    def __init__(self, kind: str, entry_point_group: str | None = None):
        self.kind = kind
        self.group = entry_point_group
        self._items: dict[str, T | str] = {}
        self._lock = threading.Lock()
        self._plugins_loaded = entry_point_group is None

    def register(self, name: str, obj: T | str | None = None) -> Callable[[T], T] | None:
        """``register("x", obj)``, ``register("x", "pkg.mod:attr")`` or ``@register("x")``."""
        if obj is None:

            def deco(o: T) -> T:
                self._add(name, o)
                return o

            return deco  # type: ignore[return-value]
        self._add(name, obj)
        return None

    def _add(self, name: str, obj: T | str) -> None:
        with self._lock:
            current = self._items.get(name)
            if current is not None and current is not obj:
                # A lazy placeholder being resolved to itself is not a duplicate.
                if not (isinstance(current, str) and not isinstance(obj, str)):
                    raise RegistryError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group or ""):
            if ep.name not in self._items:
                self._items[ep.name] = ep.value

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._items)

    def get(self, name: str) -> T:
        self._load_plugins()
        try:
            obj = self._items[name]
        except KeyError:
            raise UsageError(self._unknown(name)) from None
        if isinstance(obj, str):
            module, _, attr = obj.partition(":")
            resolved = getattr(importlib.import_module(module), attr)
            with self._lock:
                self._items[name] = resolved
            return resolved
        return obj

    def _unknown(self, name: str) -> str:
        names = self.names()
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(names)}"

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
