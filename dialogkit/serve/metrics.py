"""Prometheus metrics of the server: requests, latency, tokens, in-flight requests, shadow jobs.

Each app has its own ``CollectorRegistry`` so several servers (and tests) in one process never
collide. Names follow Prometheus conventions (counters end in ``_total``, times in seconds).
"""

from __future__ import annotations

from typing import Any

from dialogkit.errors import MissingDependencyError

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ServeMetrics:
    """The server's metric families, registered in a private registry."""

    def __init__(self) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError:  # pragma: no cover - the serve extra is missing
            raise MissingDependencyError("prometheus-client", "serve") from None
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("dialogkit_requests", "HTTP requests by endpoint, model and status code",
                                ["endpoint", "model", "status"], registry=r)
        self.latency = Histogram("dialogkit_request_latency_seconds", "Time to the full answer",
                                 ["endpoint", "model"], buckets=LATENCY_BUCKETS, registry=r)
        self.first_token = Histogram("dialogkit_time_to_first_token_seconds", "Streaming: time to the first delta",
                                     ["model"], buckets=LATENCY_BUCKETS, registry=r)
        self.prompt_tokens = Counter("dialogkit_prompt_tokens", "Prompt tokens processed", ["model"], registry=r)
        self.completion_tokens = Counter("dialogkit_completion_tokens", "Completion tokens generated",
                                         ["model"], registry=r)
        self.in_flight = Gauge("dialogkit_requests_in_flight", "Chat requests being answered", ["model"], registry=r)
        self.shadow = Counter("dialogkit_shadow_requests", "Shadow answers by outcome (ok, error, dropped)",
                              ["outcome"], registry=r)

    def observe(self, endpoint: str, model: str, status: int, seconds: float | None = None) -> None:
        self.requests.labels(endpoint, model, str(status)).inc()
        if seconds is not None:
            self.latency.labels(endpoint, model).observe(seconds)

    def tokens(self, model: str, prompt: int, completion: int) -> None:
        self.prompt_tokens.labels(model).inc(prompt)
        self.completion_tokens.labels(model).inc(completion)

    def render(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def value(self, name: str, labels: dict[str, Any] | None = None) -> float | None:
        """One sample's value (for tests and the load report)."""
        return self.registry.get_sample_value(name, labels or {})
