"""Data cards (README.md) of the sample data sets; counts are filled in by make_samples.py."""

from __future__ import annotations

_COMMON = """
## Format

One dialog per line in dialogkit's format (`schemas/dialog.schema.json`): `id`, `messages`
(system / user / assistant / tool), `tools` (OpenAI-style), `goal`, `metadata`. Tool-call ids
follow the `call_<m>_<k>` convention (message index, call index) and tool results are JSON
objects or arrays, so `dialogkit convert` to OpenAI or ShareGPT and back is an identity.

## Provenance and license

Synthetic: generated from templates by `datasets/make_samples.py` with a fixed seed (no
network, no model, no third-party text); regenerate with `python datasets/make_samples.py`.
Released with dialogkit under Apache-2.0. Names, phone numbers, prices and references are
made up.

## Intended use and limits

Demos, tests and the README quickstart: converting, validating, preparing, training tiny
models and scoring end to end. It is far too small and too regular to train a useful
model, and its template language is less varied than real users.
"""

CARDS = {
    "restaurant_en": """# restaurant_en

Task-oriented English dialogs: a user looks for a restaurant (city, cuisine, optional price
range), may ask for the phone number, and books a table. The assistant calls
`FindRestaurants` and `ReserveRestaurant`; about one search in five finds nothing and the
assistant says so.

| | |
| --- | --- |
| dialogs | {dialogs} |
| messages | {messages} |
| tool calls | {tool_calls} |
| assistant messages with dialog state | {with_state} |
| language | en |

Annotations: every assistant message that follows a user message carries the dialog
`state` (SGD-style: `active_intent`, `slots`, `requested_slots`, `domain`), user and
assistant messages carry dialog `acts` (INFORM, REQUEST, OFFER, NOTIFY_SUCCESS ...), and
each dialog has a `goal` (intents, constraints, requests, booking).
""" + _COMMON,
    "hotel_zh": """# hotel_zh

中文任务型对话：用户按城市（可选区域、星级）查询酒店并预订。助手调用 `find_hotel` 和
`book_hotel`；部分查询没有结果，助手如实告知。Task-oriented Chinese dialogs (hotel search
and booking) with dialog state, acts and tool calls.

| | |
| --- | --- |
| dialogs | {dialogs} |
| messages | {messages} |
| tool calls | {tool_calls} |
| assistant messages with dialog state | {with_state} |
| language | zh |

Annotations: dialog `state` on the assistant message after each user message, dialog
`acts`, and a `goal` per dialog, as in `restaurant_en`.
""" + _COMMON,
    "tools_mixed": """# tools_mixed

Tool-calling dialogs, half English and half Chinese: weather (`get_weather`, sometimes two
parallel calls in one assistant message), currency conversion (`convert_currency`) and
local time (`get_time`, which sometimes fails with an error result the assistant reports
honestly).

| | |
| --- | --- |
| dialogs | {dialogs} |
| messages | {messages} |
| tool calls | {tool_calls} |
| languages | en, zh |
""" + _COMMON,
    "chat_mixed": """# chat_mixed

Open multi-turn chat without tools, half English and half Chinese: short explanations
(science, data structures), gardening advice, naming a pet, short poems. Most dialogs
start with a system prompt.

| | |
| --- | --- |
| dialogs | {dialogs} |
| messages | {messages} |
| languages | en, zh |
""" + _COMMON,
}
