"""Template NLG: a few variants per act, in Chinese and English.

Templates are ``str`` with ``{slot}`` placeholders and two filters: ``{items|join}`` joins a
list with the language's separator and ``{status|label}`` looks a value up in the scenario's
``labels`` (``shipped`` -> ``已发货``). Generic acts (thanks, goodbye, affirm ...) live here;
scenarios override or extend them under ``nlg:``. A moderate number of variants keeps the
data learnable for a small model while still varied enough that it cannot just memorise.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from typing import Any

from dialogkit.errors import InputError

_FIELD = re.compile(r"\{(\w+)(?:\|(\w+))?\}")

JOIN = {"zh": "、", "en": ", "}
SPACE = {"zh": "", "en": " "}

GENERIC: dict[str, dict[str, list[str]]] = {
    "zh": {
        "hello": ["你好，", "您好，", "你好，麻烦问一下，"],
        "affirm": ["好的，确认。", "是的，没问题。", "对，就这样订吧。", "可以，帮我办理吧。"],
        "negate": ["等一下，", "不好意思，我改一下，", "不对，"],
        "thanks": ["好的，谢谢！", "明白了，谢谢你。", "太好了，谢谢。"],
        "user_bye": ["没有了，谢谢，再见。", "不用了，谢谢！", "就这些，再见。"],
        "bye": ["不客气，祝您一切顺利，再见！", "很高兴为您服务，再见。", "好的，有需要随时找我，再见！"],
        "req_more": ["还有什么可以帮您的吗？", "请问还需要其他帮助吗？"],
        "no_results": ["抱歉，没有找到符合{criteria}的结果。", "很遗憾，目前没有{criteria}的选项。"],
        "change_slot": ["您可以换一个{slot_desc}试试吗？", "要不要换个{slot_desc}？"],
        "next_result": ["我为您换一个选择：", "为您改选："],
        "retry": ["系统暂时繁忙，我再试一次。", "刚才查询失败了，我重新查询一下。"],
        "vague": ["我想咨询点事情。", "你好，我需要帮忙。", "在吗？有件事想问问。"],
        "vague_reply": ["您好，请问有什么可以帮您？", "在的，请问您需要办理什么业务？"],
        "goal_intro": ["你的身份：{persona}。"],
        "goal_task": ["你想{intent}，已知信息：{constraints}。"],
        "goal_requests": ["你还想了解：{requests}。"],
        "goal_change": ["如果被问到确认，你会把{slot}改成{value}。"],
        "goal_first": ["一开始你会说{slot}是{value}；如果没有结果，再改成{goal_value}。"],
        "goal_aside": ["对话中你会顺便提一个助手无法办理的请求。"],
    },
    "en": {
        "hello": ["Hi, ", "Hello, ", "Hi there, "],
        "affirm": ["Yes, please go ahead.", "That's right, confirm it.", "Yes, that works.", "Sounds good, do it."],
        "negate": ["Wait, ", "Actually, ", "Sorry, let me change that: "],
        "thanks": ["Great, thanks!", "Thank you, that's helpful.", "Perfect, thanks."],
        "user_bye": ["No, that's all. Bye!", "That's everything, thanks. Goodbye.", "Nothing else, thank you."],
        "bye": ["You're welcome. Have a great day!", "Glad I could help. Goodbye!", "Anytime. Take care!"],
        "req_more": ["Is there anything else I can help with?", "Can I help with anything else?"],
        "no_results": ["Sorry, I couldn't find anything matching {criteria}.", "Unfortunately nothing matches {criteria}."],
        "change_slot": ["Would you like to try a different {slot_desc}?", "Shall I try another {slot_desc}?"],
        "next_result": ["Let me offer another option instead: ", "Here is an alternative: "],
        "retry": ["The system is busy; let me try that again.", "That lookup failed, retrying."],
        "vague": ["I need some help.", "Hi, I have a question.", "Can you help me with something?"],
        "vague_reply": ["Of course. What can I do for you?", "Sure, how can I help you today?"],
        "goal_intro": ["You are {persona}."],
        "goal_task": ["You want to {intent}. You know: {constraints}."],
        "goal_requests": ["You also want to know: {requests}."],
        "goal_change": ["When asked to confirm, you change {slot} to {value}."],
        "goal_first": ["At first you say {slot} is {value}; if nothing is found, you switch to {goal_value}."],
        "goal_aside": ["At some point you also ask for something the assistant cannot do."],
    },
}


@lru_cache(maxsize=4096)
def _compile(template: str) -> tuple[tuple[str, str | None, str | None], ...]:
    """Split once into (literal, field, filter) parts; rendering is then a join."""
    parts: list[tuple[str, str | None, str | None]] = []
    pos = 0
    for m in _FIELD.finditer(template):
        parts.append((template[pos:m.start()], m.group(1), m.group(2)))
        pos = m.end()
    parts.append((template[pos:], None, None))
    return tuple(parts)


@lru_cache(maxsize=4096)
def fields(template: str) -> frozenset[str]:
    """Placeholders a template needs."""
    return frozenset(f for _, f, _ in _compile(template) if f)


def show(value: Any, lang: str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return JOIN.get(lang, ", ").join(show(v, lang) for v in value)
    return str(value)


class NLG:
    """Renders acts for one scenario in one language."""

    def __init__(self, lang: str, overrides: dict[str, dict[str, list[str]]] | None = None,
                 labels: dict[str, dict[str, dict[str, str]]] | None = None):
        self.lang = lang
        self.labels = labels or {}
        self.generic = dict(GENERIC.get(lang, GENERIC["en"]))
        for act, variants in (overrides or {}).items():
            if variants.get(lang):
                self.generic[act] = variants[lang]

    def render(self, template: str, values: dict[str, Any]) -> str:
        out = []
        for literal, name, filt in _compile(template):
            out.append(literal)
            if name is None:
                continue
            if name not in values:
                raise InputError(f"template {template!r} needs {{{name}}}, which is not known here")
            v = values[name]
            if filt == "label":
                v = self.labels.get(name, {}).get(str(v), {}).get(self.lang, v)
            out.append(show(v, self.lang))
        return "".join(out)

    def pick(self, rng: random.Random, variants: list[str], values: dict[str, Any] | None = None) -> str:
        if not variants:
            raise InputError(f"no templates for language {self.lang!r}")
        text = self.render(variants[rng.randrange(len(variants))], values or {})
        # English sentences start with a capital even when a value opens them ("italian food"),
        # but never change a value that is not a plain word (an e-mail, a booking code).
        if self.lang == "en" and text[:1].islower() and text.split(" ", 1)[0].isalpha():
            return text[:1].upper() + text[1:]
        return text

    def act(self, rng: random.Random, act: str, values: dict[str, Any] | None = None) -> str:
        return self.pick(rng, self.generic[act], values)

    def chain(self, phrases: list[str]) -> str:
        """Several short answers as one reply: "A10971，邮箱是x。" / "It's A10971. My email is x."."""
        if self.lang != "zh":
            return " ".join(phrases)
        head = [p.rstrip("。") for p in phrases[:-1]]
        return "，".join(head + phrases[-1:])

    def join(self, parts: list[str]) -> str:
        return SPACE.get(self.lang, " ").join(p for p in parts if p)
