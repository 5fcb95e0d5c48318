"""Role and turn-order rules, read off the one-letter role string of :class:`View`.

A tool sequence is ``assistant(tool_calls) -> tool ... -> assistant``; outside one, user and
assistant must alternate. The last message must be an assistant reply: an SFT example whose
end is a user or tool message teaches nothing at its end. Valid dialogs cost a few string
operations; only a dialog with a problem is walked message by message to locate it.
"""

from __future__ import annotations

import re

from dialogkit.validate.structure import View
from dialogkit.validate.tools import Emit

# In the role string without system messages: two users, a user right after a tool result,
# an assistant reply right after another (no calls in between), a tool result with no call
# before it. ("c" followed by "a"/"u" is an unanswered call: the tools rules report that.)
_BAD_ORDER = re.compile(r"uu|tu|[ae][ace]|^t|ut")


def check_roles(view: View, emit: Emit, min_turns: int = 3) -> None:
    """Emit ``(code, path, message)`` for order problems, empty replies and too few turns."""
    roles = view.roles
    talk = roles.replace("s", "") if "s" in roles else roles
    if not talk:
        emit(("DIALOG_EMPTY", "messages", "no user or assistant message"))
        return
    if "s" in roles.lstrip("s"):
        first = len(roles) - len(roles.lstrip("s"))
        for i in range(first, len(roles)):
            if roles[i] == "s":
                emit(("SYSTEM_MID_DIALOG", f"messages[{i}]", "system message after the conversation started"))
    if "e" in roles:
        for i, r in enumerate(roles):
            if r == "e":
                emit(("ASSISTANT_EMPTY", f"messages[{i}].content", "assistant turn with no text and no tool calls"))
    if _BAD_ORDER.search(talk):
        _locate_order(roles, emit)
    if talk[-1] not in "ace":
        last = max(roles.rfind(r) for r in "utace")
        name = {"u": "user", "t": "tool"}[talk[-1]]
        emit(("LAST_NOT_ASSISTANT", f"messages[{last}]", f"the dialog ends with a {name} message, not an assistant reply"))
    users = talk.count("u")
    if users < min_turns:
        emit(("FEW_TURNS", "messages", f"{users} user turn{'s' if users != 1 else ''} (fewer than {min_turns})"))


def _locate_order(roles: str, emit: Emit) -> None:
    prev, prev_i = "", -1
    for i, r in enumerate(roles):
        if r == "s":
            continue
        if r == "u" and prev == "u":
            emit(("ROLE_ORDER", f"messages[{i}]", f"two user messages in a row (messages[{prev_i}] and [{i}])"))
        elif r == "u" and prev == "t":
            emit(("ROLE_ORDER", f"messages[{i}]", f"user turn after a tool result (messages[{prev_i}]) with no assistant reply"))
        elif r in "ace" and prev in ("a", "e"):
            emit(("ROLE_ORDER", f"messages[{i}]", f"two assistant messages in a row (messages[{prev_i}] and [{i}])"))
        elif r == "t" and prev in ("", "u"):
            emit(("ROLE_ORDER", f"messages[{i}]", "tool result not preceded by an assistant tool call"))
        prev, prev_i = r, i
