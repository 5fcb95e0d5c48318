"""Run a ``dialogkit`` command in this process, its output going to the terminal and a log.

The demo runs the very commands a user would type (they are recorded in each stage's
``stage.json`` and shown in the report), in-process so torch and the models load once. The
click group comes from the caller (``dialogkit.cli`` passes itself): the library never imports
the command line.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path
from typing import Any

from dialogkit.errors import DialogkitError


class _Tee(io.TextIOBase):
    """Writes to several text streams; the first one decides ``isatty`` (progress bars)."""

    def __init__(self, *streams: Any):
        self.streams = [s for s in streams if s is not None]

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self) -> None:
        for s in self.streams:
            with contextlib.suppress(Exception):
                s.flush()

    @property
    def buffer(self) -> _BytesTee:
        """Commands that write bytes (``sys.stdout.buffer``) reach every stream too."""
        return _BytesTee(self.streams)

    def isatty(self) -> bool:
        first = self.streams[0] if self.streams else None
        return bool(first is not None and getattr(first, "isatty", lambda: False)())


class _BytesTee(io.RawIOBase):
    def __init__(self, streams: list[Any]):
        self.streams = streams

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        for s in self.streams:
            raw = getattr(s, "buffer", None)
            if raw is not None:
                s.flush()
                raw.write(data)
            else:
                s.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        for s in self.streams:
            with contextlib.suppress(Exception):
                (getattr(s, "buffer", None) or s).flush()


class CommandError(DialogkitError):
    """A stage's command failed; the message names it and its log."""


def run_command(group: Any, args: list[str], log: Path, *, quiet: bool = False,
                ok_codes: tuple[int, ...] = (0,)) -> str:
    """Run ``dialogkit ARGS`` with the click ``group``; return its stdout.

    Raises:
        CommandError: the exit code is not one of ``ok_codes``.
    """
    import click

    out_buf = io.StringIO()
    code: Any = 0
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ dialogkit {' '.join(args)}\n")
        fh.flush()
        term_out = None if quiet else sys.stdout
        term_err = None if quiet else sys.stderr
        stdout = _Tee(*(s for s in (term_out, fh, out_buf) if s is not None))
        stderr = _Tee(*(s for s in (term_err, fh) if s is not None))
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = group.main(args=[str(a) for a in args], prog_name="dialogkit", standalone_mode=False)
            except click.exceptions.Exit as e:
                code = e.exit_code
            except click.ClickException as e:
                e.show(file=stderr)
                code = e.exit_code
            except SystemExit as e:
                code = e.code
        fh.write(f"[exit {code or 0}]\n")
    code = int(code or 0) if not isinstance(code, str) else 1
    if code not in ok_codes:
        raise CommandError(f"`dialogkit {' '.join(map(str, args[:3]))} ...` exited {code}; see {log}")
    return out_buf.getvalue()


def run_launched(launcher: list[str], args: list[str], log: Path, *, quiet: bool = False) -> None:
    """Run ``LAUNCHER -m dialogkit ARGS`` (e.g. ``accelerate launch``) as a subprocess, output teed to ``log``."""
    import subprocess

    cmd = [*launcher, "-m", "dialogkit", *args]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        except OSError as e:
            raise CommandError(f"cannot start {launcher[0]!r}: {e}") from e
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            if not quiet:
                sys.stdout.write(line)
        code = proc.wait()
        fh.write(f"[exit {code}]\n")
    if code != 0:
        raise CommandError(f"`{' '.join(cmd[:6])} ...` exited {code}; see {log}")
