from __future__ import annotations

import pytest

from dialogkit.errors import UsageError
from dialogkit.registry import Registry, RegistryError


def test_lazy_entries_resolve_on_first_use():
    reg: Registry[object] = Registry("thing")
    reg.register("dumps", "json:dumps")
    import json

    assert reg.get("dumps") is json.dumps
    assert reg.get("dumps") is json.dumps


def test_decorator_and_duplicates():
    reg: Registry[object] = Registry("scorer")

    @reg.register("a")
    def a():
        return 1

    assert reg.get("a") is a
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("a", lambda: 2)


def test_unknown_name_suggests():
    reg: Registry[object] = Registry("format")
    for n in ("openai", "sharegpt", "alpaca"):
        reg.register(n, object())
    with pytest.raises(UsageError, match=r"unknown format 'opnai'.*Did you mean: openai.*Available: alpaca, openai, sharegpt"):
        reg.get("opnai")
