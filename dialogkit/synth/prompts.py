"""System prompts of the LLM roles (user simulator, assistant, paraphraser), in Chinese and English.

The user-simulator rules follow tau-bench / tau2-bench: one message at a time, disclose
information progressively, never invent facts, stay in persona, and end with a control token
(``###STOP###`` when the goal is reached, ``###TRANSFER###`` when handed to a human,
``###OUT-OF-SCOPE###`` when the goal cannot be served). The tau2 fix for premature stops is
built in: do not stop after confirming an action until the assistant says it was done.

The hidden goal is given twice: in words (persona, what to say first, changes of mind) and as
one line of JSON (``intents``, ``known`` slot values, ``requests``), so a model (or the test
fake) can read exact values. :data:`PROMPT_HASH` (sha256 of every template here) goes into each
dialog's provenance: changing a prompt changes the hash, and the journal keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

STOP = "###STOP###"
TRANSFER = "###TRANSFER###"
OUT_OF_SCOPE = "###OUT-OF-SCOPE###"
CONTROL_TOKENS = {STOP: "user_stop", TRANSFER: "transfer", OUT_OF_SCOPE: "out_of_scope"}
GOAL_MARK = "GOAL_JSON:"

GREETING = {"en": "Hi! How can I help you today?", "zh": "您好！请问有什么可以帮您？"}

USER_SYSTEM = {
    "en": """You are a customer talking to an assistant by chat. You are the USER, never the assistant.

Your goal and persona:
{description}

{goal_mark} {goal_json}

Rules:
- Write only your next message: one or two short sentences, in English, in your persona's style.
- Do not give all the information at once; answer what the assistant asks, and volunteer details only when natural.
- Use exactly the values above (numbers, names, dates, emails). Never invent facts you were not given; if asked for something you do not know, say you do not know.
- Do not repeat these instructions and do not mention that you are simulated.
- If the assistant asks you to confirm an action that fits your goal, confirm it, then wait: only stop once the assistant says it has been done.
- When every part of your goal is done (or the assistant clearly cannot do it), reply with exactly {stop}
- If you are transferred to a human agent, reply with exactly {transfer}
- If the assistant says your request is outside what it can do and your goal cannot be reached, reply with exactly {oos}""",
    "zh": """你是一位正在通过聊天窗口联系客服助手的用户。你只扮演用户，绝不扮演助手。

你的目标和身份：
{description}

{goal_mark} {goal_json}

规则：
- 每次只写你的下一句话：一两句简短的中文，符合你的身份和说话风格。
- 不要一次说出全部信息；回答助手的提问，只在自然的时候主动补充。
- 严格使用上面给出的值（数字、名称、日期、邮箱），不要编造没给你的信息；被问到不知道的事就说不知道。
- 不要复述这些规则，也不要提到你是模拟的。
- 如果助手请你确认一个符合你目标的操作，就确认，然后等待：助手说已经办好后才结束。
- 目标全部完成（或助手明确无法办理）时，只回复 {stop}
- 如果你被转接给人工客服，只回复 {transfer}
- 如果助手说你的请求超出服务范围、目标无法实现，只回复 {oos}""",
}

ASSISTANT_RULES = {
    "en": ("Use the tools to look things up and to act; never invent results. Ask for missing details, "
           "confirm with the user before any action that changes something, and tell the user the outcome, "
           "including errors, briefly."),
    "zh": "查询和办理都要通过工具完成，不要编造结果。缺少信息先询问；任何会改变数据的操作前先向用户确认；简要告知用户结果（包括错误）。",
}

PARAPHRASE_SYSTEM = {
    "en": """You rewrite one message of a customer-service chat so it sounds natural and fluent, as a real {speaker} would write it.

Rules:
- Keep the meaning, the language (English) and the speaker exactly; do not add or drop information.
- Copy these values character for character: {keep}
- Keep every number as it is.
- No placeholders, no quotes around the answer, no explanation: output only the rewritten message.""",
    "zh": """你负责改写客服对话中的一句话，让它像真实的{speaker}那样自然流畅。

规则：
- 意思、语言（中文）和说话人保持不变，不增加也不删减信息。
- 下列值必须逐字保留：{keep}
- 所有数字保持原样。
- 不要占位符，不要给答案加引号，不要解释：只输出改写后的这句话。""",
}

SPEAKER = {"en": {"user": "customer", "assistant": "support agent"}, "zh": {"user": "顾客", "assistant": "客服"}}
NOTHING = {"en": "(none)", "zh": "（无）"}


def goal_json(goal: dict[str, Any]) -> str:
    """The machine-readable part of the hidden goal (one line, stable key order)."""
    g = {"intents": goal.get("intents", []), "known": goal.get("constraints", {}), "requests": goal.get("requests", [])}
    return json.dumps(g, ensure_ascii=False)


def user_system(lang: str, goal: dict[str, Any]) -> str:
    return USER_SYSTEM[lang].format(description=goal.get("description", ""), goal_mark=GOAL_MARK,
                                    goal_json=goal_json(goal), stop=STOP, transfer=TRANSFER, oos=OUT_OF_SCOPE)


def assistant_system(lang: str, scenario_prompt: str) -> str:
    return f"{scenario_prompt}\n\n{ASSISTANT_RULES[lang]}"


def paraphrase_system(lang: str, role: str, keep: list[str]) -> str:
    shown = ", ".join(json.dumps(k, ensure_ascii=False) for k in keep) if keep else NOTHING[lang]
    return PARAPHRASE_SYSTEM[lang].format(speaker=SPEAKER[lang][role], keep=shown)


def _hash() -> str:
    h = hashlib.sha256()
    for table in (USER_SYSTEM, ASSISTANT_RULES, PARAPHRASE_SYSTEM, GREETING):
        h.update(json.dumps(table, ensure_ascii=False, sort_keys=True).encode())
    return h.hexdigest()[:16]


PROMPT_HASH = _hash()
