"""Shared fixtures. ``../shared`` is optional: tests that need it skip cleanly without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DIALOGKIT_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="module")
def tiny_tok():
    """A BPE tokenizer trained here on a little dialog text (no hub, no ../shared)."""
    from dialogkit.tokenizer_tiny import build_tiny_tokenizer

    return build_tiny_tokenizer(vocab_size=500)


@pytest.fixture(scope="module")
def qwen_tok(shared_dir):
    """The real Qwen3 tokenizer from ../shared (skips without it)."""
    from dialogkit.prepare import load_tokenizer

    return load_tokenizer(shared_dir / "tokenizers/qwen3")


@pytest.fixture(scope="module")
def fake():
    """An OpenAI-compatible fake server on 127.0.0.1 (tests/fakes), one per test module."""
    from fakes import FakeOpenAI

    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture()
def server(fake):
    """``fake`` with no faults and zeroed counters, for one test."""
    from fakes import Faults

    fake.faults = Faults()
    fake.reset_counts()
    return fake


@pytest.fixture()
def run_cli():
    """Run ``dialogkit ARGS`` in-process; returns click's Result (exit_code, stdout, stderr)."""
    from dialogkit.cli import cli

    def _run(*args: str, input: str | None = None):
        runner = CliRunner()
        return runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)

    return _run
