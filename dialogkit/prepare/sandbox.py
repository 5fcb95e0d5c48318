"""Faster, equivalent hooks for the Jinja sandbox that renders chat templates.

Rendering is about half of ``prepare``'s time and most of that is the sandbox's checks, done
again on every attribute access and call. The hooks here give the same results with less work:

* ``getattr``: the sandbox asks ``is_safe_attribute(obj, attr, value)``; for Jinja's
  ``ImmutableSandboxedEnvironment`` the answer depends only on ``type(obj)`` and ``attr``
  (``is_internal_attribute`` and ``modifies_known_mutable`` test ``isinstance(obj, ...)`` and
  the name; the value is unused), so it is computed once per ``(type, attr)``. Plain dicts go
  straight to their item, as the sandbox does after ``getattr`` fails. ``format`` and
  ``format_map`` always take the sandbox's own path (it wraps them).
* ``call``: a built-in method of a plain ``str`` (``content.strip('\\n')``) needs none of the
  sandbox's checks: it can't be marked unsafe, takes no context, and never raises
  ``StopIteration``; the sandbox would end up calling it the same way. Everything else
  (macros, filters, other callables) takes the sandbox's path.
* the ``{% generation %}`` tracker: transformers measures the text rendered so far with
  ``len("".join(blocks))`` at every block; we keep a running length instead.

:func:`speed_up` installs them on one private environment; the shared one is never touched.
"""

from __future__ import annotations

import types
from typing import Any

_DICT_ATTRS = frozenset(dir(dict))
_BUILTIN_METHOD = types.BuiltinMethodType
_SANDBOX_ONLY = frozenset({"format", "format_map"})


def fast_getattr(env: Any) -> Any:
    """``env.getattr`` with the safety verdict cached per ``(type(obj), attr)``; same results."""
    slow = env.getattr
    safe_cache: dict[tuple[type, str], bool] = {}

    def getattr_(obj: Any, attribute: str) -> Any:
        kind = type(obj)
        if kind is dict and attribute not in _DICT_ATTRS:
            try:
                return obj[attribute]
            except KeyError:
                return env.undefined(obj=obj, name=attribute)
        if attribute in _SANDBOX_ONLY or isinstance(obj, type):
            return slow(obj, attribute)
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            return slow(obj, attribute)  # item lookup or Undefined: the sandbox's own path
        key = (kind, attribute)
        safe = safe_cache.get(key)
        if safe is None:
            safe = safe_cache[key] = bool(env.is_safe_attribute(obj, attribute, value))
        return value if safe else env.unsafe_undefined(obj, attribute)

    return getattr_


def fast_call(env: Any, eval_ctx_fn: Any = None) -> Any:
    """``env.call`` that calls plain ``str`` built-in methods directly; same results.

    ``eval_ctx_fn`` (our own generation tracker, a ``pass_eval_context`` function that is safe by
    construction) is called as ``Context.call`` would: the eval context first, ``StopIteration``
    turned into Undefined.
    """
    slow = env.call

    def call(context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if type(obj) is _BUILTIN_METHOD and type(getattr(obj, "__self__", None)) is str:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            return obj(*args, **kwargs)
        if obj is eval_ctx_fn and eval_ctx_fn is not None:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            try:
                return obj(context.eval_ctx, *args, **kwargs)
            except StopIteration:
                return env.undefined("value was undefined because a callable raised a StopIteration exception")
        return slow(context, obj, *args, **kwargs)

    return call


def _fast_tracker(ext: Any) -> Any:
    """Replace the generation tracker's span measurement with a running length (same spans)."""
    import jinja2

    # [the render's block list, blocks counted, their total length]; holding the list keeps
    # its identity unique, so a new render (a new list) always starts from zero
    state: list[Any] = [None, 0, 0]

    @jinja2.pass_eval_context
    def _generation_support(context: Any, caller: Any) -> str:
        rv = caller()
        blocks = ext._rendered_blocks
        if blocks is not None or ext._generation_indices is not None:
            if state[0] is not blocks:
                state[:] = [blocks, 0, 0]
            chars = state[2]
            for b in blocks[state[1] :]:
                chars += len(b)
            state[1], state[2] = len(blocks), chars
            ext._generation_indices.append((chars, chars + len(rv)))
        return rv

    ext._generation_support = _generation_support
    return _generation_support


def speed_up(env: Any) -> None:
    """Install the equivalent fast paths on ``env`` (a private compiled template's environment)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

    if type(env).is_safe_attribute not in (ImmutableSandboxedEnvironment.is_safe_attribute,
                                           SandboxedEnvironment.is_safe_attribute):
        return  # a sandbox with its own safety rules: the caches' reasoning may not hold, keep it as is
    tracker = None
    for ext in env.extensions.values():
        if hasattr(ext, "_generation_support") and hasattr(ext, "_rendered_blocks"):
            tracker = _fast_tracker(ext)
    env.getattr = fast_getattr(env)
    env.call = fast_call(env, tracker)
