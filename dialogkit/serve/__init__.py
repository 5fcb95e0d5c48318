"""Serving: an OpenAI-compatible FastAPI server for trained models (adapter or merged), Prometheus
metrics, shadow comparison of a candidate model, and a load generator.

FastAPI, uvicorn and prometheus-client (the ``serve`` extra) are imported only when used.
"""

from dialogkit.serve.engine import Completion, Result, ServedModel
from dialogkit.serve.openai_io import APIError, Limits

__all__ = ["APIError", "Completion", "Limits", "Result", "ServedModel"]
