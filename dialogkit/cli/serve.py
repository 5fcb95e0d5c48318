"""``dialogkit serve``: an OpenAI-compatible server for a trained model; also the load test and shadow report."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import click

from dialogkit.errors import UsageError


def _served_name(spec: str) -> str:
    if spec.startswith("openai:"):
        return spec.removeprefix("openai:")
    p = Path(spec)
    return p.resolve().name if p.exists() else spec


def _check_port(host: str, port: int) -> None:
    # uvicorn only logs a bind failure; say it plainly before loading any weights.
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def _load(spec: str, name: str, device: str | None) -> Any:
    from dialogkit.generate import load_backend
    from dialogkit.serve import ServedModel

    return ServedModel(name, load_backend(spec, device=device), source=spec)


def _print_load(report: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
        return
    lat = report["latency_s"]
    click.echo(f"{report['url']}  model {report['model']}")
    click.echo(f"requests {report['requests']} (concurrency {report['concurrency']}): ok {report['ok']}"
               + (f", errors {report['errors']}" if report["errors"] else ""))
    click.echo(f"wall {report['wall_s']} s, {report['requests_per_s']} requests/s, "
               f"{report['completion_tokens_per_s']} completion tokens/s")
    if lat["mean"] is not None:
        click.echo("latency s: " + ", ".join(f"{k} {v}" for k, v in lat.items()))


def _print_shadow(summary: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"requests {summary['requests']}, shadow errors {summary['shadow_errors']}"
               + (f", bad lines {summary['bad_lines']}" if summary["bad_lines"] else ""))
    for key in ("agreement", "primary_vs_reference", "shadow_vs_reference"):
        s = summary[key]
        vals = ", ".join(f"{m} {s[m]}" for m in ("tool_calls_match", "tool_names_match", "content_chrf")
                         if s[m] is not None)
        click.echo(f"{key:<21} n {s['n']}" + (f": {vals}" if vals else ""))
    lat = summary["mean_latency_s"]
    click.echo(f"mean latency s: primary {lat['primary']}, shadow {lat['shadow']}")


@click.command()
@click.option("--model", "model", default=None, help="RUN folder (adapter or merged), model folder, or openai:NAME.")
@click.option("--models-root", type=click.Path(file_okay=False), default=None,
              help="Serve the current version of this models root (see `dialogkit models`).")
@click.option("--name", default=None, help="Model id clients send (default: the folder name).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--api-key", envvar="DIALOGKIT_API_KEY", default=None,
              help="Require 'Authorization: Bearer KEY' on /v1/* (env DIALOGKIT_API_KEY).")
@click.option("--shadow", default=None, help="A second model that answers every request in the background.")
@click.option("--shadow-log", type=click.Path(dir_okay=False), default="shadow.jsonl", show_default=True,
              help="JSONL log of primary and shadow answers with scores.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available).")
@click.option("--max-tokens", type=click.IntRange(1), default=1024, show_default=True,
              help="Most tokens one request may ask for.")
@click.option("--default-max-tokens", type=click.IntRange(1), default=256, show_default=True,
              help="Tokens when a request gives no max_tokens.")
@click.option("--default-temperature", type=click.FloatRange(0, 2), default=1.0, show_default=True,
              help="Temperature when a request gives none (OpenAI's default is 1; 0 is greedy).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
@click.option("--load-test", "load_url", default=None, metavar="URL",
              help="Instead of serving: load-test the server at URL (e.g. http://127.0.0.1:8000).")
@click.option("--requests", "n_requests", type=click.IntRange(1), default=50, show_default=True,
              help="Load test: number of requests.")
@click.option("--concurrency", type=click.IntRange(1), default=4, show_default=True,
              help="Load test: requests in flight at once.")
@click.option("--prompt", default="Hello! What can you do?", show_default=True, help="Load test: user message.")
@click.option("--request-model", default=None, help="Load test: model id to ask for (default: first listed).")
@click.option("--load-max-tokens", type=click.IntRange(1), default=32, show_default=True,
              help="Load test: max_tokens per request.")
@click.option("--timeout", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="Load test: seconds per request before it counts as an error.")
@click.option("--shadow-report", type=click.Path(dir_okay=False), default=None,
              help="Instead of serving: summarize a shadow log (agreement, scores vs references).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output of --load-test / --shadow-report.")
def serve(model: str | None, models_root: str | None, name: str | None, host: str, port: int,
          api_key: str | None, shadow: str | None, shadow_log: str, device: str | None, max_tokens: int,
          default_max_tokens: int, default_temperature: float, log_level: str, load_url: str | None,
          n_requests: int, concurrency: int, prompt: str, request_model: str | None, load_max_tokens: int,
          timeout: float, shadow_report: str | None, fmt: str) -> None:
    """Serve a trained model behind an OpenAI-compatible API.

    Endpoints: POST /v1/chat/completions (tools, tool calls, streaming), GET /v1/models,
    GET /health, GET /metrics (Prometheus). With --api-key, /v1/* answers 401 without
    'Authorization: Bearer KEY'.

    \b
    Examples:
      dialogkit serve --model runs/sft-v2 --port 8000 --api-key "$KEY"
      dialogkit serve --models-root runs/ --port 8000
      dialogkit serve --model runs/sft-v2 --shadow runs/dpo-v3 --shadow-log shadow.jsonl
      dialogkit serve --shadow-report shadow.jsonl
      dialogkit serve --load-test http://127.0.0.1:8000 --requests 200 --concurrency 8
    """
    modes = sum(x is not None for x in (load_url, shadow_report)) + (model is not None or models_root is not None)
    if modes != 1:
        raise UsageError("give one of: --model/--models-root (serve), --load-test URL, or --shadow-report FILE")
    if load_url is not None:
        from dialogkit.serve.loadtest import load_test

        report = load_test(load_url, requests=n_requests, concurrency=concurrency, model=request_model,
                           prompt=prompt, max_tokens=load_max_tokens, timeout=timeout, api_key=api_key)
        _print_load(report, fmt)
        click.get_current_context().exit(1 if report["errors"] else 0)
    if shadow_report is not None:
        from dialogkit.serve.shadow import summarize

        _print_shadow(summarize(shadow_report), fmt)
        return
    _serve(model, models_root, name, host, port, api_key, shadow, shadow_log, device,
           {"max_tokens": max_tokens, "default_max_tokens": default_max_tokens,
            "default_temperature": default_temperature}, log_level)


def _serve(model: str | None, models_root: str | None, name: str | None, host: str, port: int,
           api_key: str | None, shadow: str | None, shadow_log: str, device: str | None,
           limits: dict[str, Any], log_level: str) -> None:
    from dialogkit.serve import Limits

    lim = Limits(**limits)
    if api_key is not None and not api_key.strip():
        raise UsageError("--api-key is empty; give a key or leave the option out")
    if model is not None and models_root is not None:
        raise UsageError("give --model or --models-root, not both")
    if models_root is not None:
        from dialogkit.lifecycle import ModelRegistry

        model = str(ModelRegistry(models_root).current_path())
    assert model is not None
    _check_port(host, port)
    served_name = name or _served_name(model)
    click.echo(f"loading {model} ...", err=True)
    primary = _load(model, served_name, device)
    metrics_obj, shadow_obj = None, None
    if shadow is not None:
        from dialogkit.serve.metrics import ServeMetrics
        from dialogkit.serve.shadow import Shadow

        metrics_obj = ServeMetrics()
        shadow_name = _served_name(shadow)
        if shadow_name == served_name:
            shadow_name += "-shadow"
        click.echo(f"loading shadow {shadow} ...", err=True)
        shadow_obj = Shadow(_load(shadow, shadow_name, device), shadow_log, metrics_obj)
    _run_uvicorn(primary, shadow_obj, metrics_obj, api_key, lim, host, port, log_level)


def _run_uvicorn(primary: Any, shadow_obj: Any, metrics_obj: Any, api_key: str | None, limits: Any,
                 host: str, port: int, log_level: str) -> None:
    try:
        import uvicorn
    except ImportError:
        from dialogkit.errors import MissingDependencyError

        raise MissingDependencyError("uvicorn", "serve") from None
    from dialogkit.serve.app import Server, create_app

    app = create_app(Server([primary], api_key=api_key, shadow=shadow_obj, limits=limits, metrics=metrics_obj))
    if api_key is None and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host} without --api-key: anyone who can reach it can use it", err=True)
    click.echo(f"serving {primary.name} on http://{host}:{port}/v1 "
               f"(api key {'required' if api_key else 'not required'}; metrics at /metrics)", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
