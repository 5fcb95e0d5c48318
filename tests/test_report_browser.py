"""The demo's report.html in a real headless Chromium: it renders, shows the numbers, logs nothing.

Needs the Debian package: ``apt-get update && apt-get install -y chromium``; skips without it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from demo_support import make_demo_dir

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install -y chromium)")


def _chromium(tmp_path: Path, page: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra,
                           page.resolve().as_uri()], check=False, capture_output=True, text=True, timeout=120)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_console_errors_are_detected(tmp_path):
    """The check below is meaningful: a page with a script error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><p>x</p><script>undefinedFunction()</script>")
    proc = _chromium(tmp_path, bad, "--dump-dom")
    assert any("undefinedFunction" in line for line in _console_errors(proc.stderr))


def test_report_renders_with_numbers_and_no_console_errors(tmp_path):
    from dialogkit.demo.stages import report

    ctx = make_demo_dir(tmp_path / "demo")
    report(ctx)
    page = tmp_path / "demo" / "report.html"
    proc = _chromium(tmp_path, page, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "MultiWOZ-style table" in dom and "The models side by side" in dom
    for text in ("25.0", "100.0", "6.900", "base", "sft", "dpo"):
        assert text in dom
    assert dom.count("<svg") >= 2  # metric bars and the loss curves
    assert _console_errors(proc.stderr) == []
    shot = tmp_path / "shot.png"
    proc = _chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1200,1600", "--hide-scrollbars")
    assert proc.returncode == 0 and shot.is_file() and shot.stat().st_size > 20_000
