"""Behaviour on labelled turns: clarify before acting, refuse when required, and only then.

Reference assistant messages carry ``expected`` labels (``clarify``, ``refuse``, ``answer``,
``call_tool`` ...). The predicted turn is classified as ``call_tool`` (it calls a tool),
``refuse`` (a refusal, English or Chinese), ``clarify`` (a question to the user), ``answer``
(anything else) or ``none`` (empty).

A refusal is the assistant declining: a first-person inability to help (``I can't help``,
``我无法提供``), an apology followed by one (``Sorry … I'm unable``, ``抱歉…无法为您``), a scope
limit (``I can only help with orders``, ``outside what I can do``, ``超出了我的服务范围``,
``只能…``) or a policy. An inability that is about the world, not the assistant (``it can no
longer be cancelled``, ``已经无法取消了``) is information, not a refusal. The generic closing
offer (``Anything else?``, ``还有什么可以帮您的吗？``) is not a question about the task, so it
does not make a reply a clarification. The pattern lists are options, so a suite can adapt them
to a domain's wording.
"""

from __future__ import annotations

import re

from dialogkit.schema import AssistantMessage, Dialog
from dialogkit.score.base import BaseScorer, Item, MetricSpec, ScorerOptions, aligned_turns, mean_stat

# Verbs of the service itself: "I can't <verb>" with one of them declines the request.
_EN_HELP = r"(?:help|assist|provide|do|share|comply|support|give|disclose|discuss|answer|access|reveal|offer|handle|deal)"
_EN_SCOPE = r"(?:help|assist|support|answer|discuss|deal|handle|share|provide information)"
_ZH_HELP = r"(?:为您|帮您|给您|替您|向您|帮|提供|协助|回答|处理|透露|办理|告知|分享|查看|查询|讨论|满足|操作)"
_ZH_SORRY = r"(?:抱歉|对不起|很遗憾|不好意思)"
_ZH_CANNOT = r"(?:无法|不能|不可以|不便|没办法|没有办法)"
REFUSAL_PATTERNS = [
    r"\bi(?:'m| am) (?:sorry|afraid)\b[^.?!]{0,60}\b(?:can(?:no|')t|unable|not able|won't)\b",
    rf"\b(?:i|we) (?:can(?:no|')t|cannot|won't|will not|must decline to|am unable to|are unable to) {_EN_HELP}\b",
    r"\bi(?:'m| am) (?:unable|not able|not allowed|not permitted|not authori[sz]ed) to\b",
    r"\b(?:against|violates?) (?:our|my|the) (?:policy|policies|guidelines)\b",
    # scope: "I can only help with orders", "that's outside what I can do", "beyond my remit"
    # (not "I can only offer 8 pm": an alternative is an answer)
    rf"\b(?:i|we) (?:can |am able to |are able to )?only {_EN_SCOPE}\b",
    (
        rf"\b(?:outside|beyond) (?:of )?(?:what (?:i|we) (?:can|am able to) {_EN_HELP}|(?:my|our|the) (?:scope|remit)"
        r"|(?:my|our) (?:capabilit\w*|abilit\w*|expertise|services?))\b"
    ),
    r"\bout of (?:my |our )?scope\b",
    rf"{_ZH_SORRY}[^。！？]{{0,20}}{_ZH_CANNOT}{_ZH_HELP}",
    rf"{_ZH_SORRY}[^。！？]{{0,15}}我[^。！？]{{0,8}}{_ZH_CANNOT}",
    rf"我们?(?:暂时|恐怕)?{_ZH_CANNOT}[^。！？]{{0,4}}{_ZH_HELP}",
    # scope: "超出了我的服务范围", "不在服务范围内", "只能处理订单相关的问题", "只能在核实身份后提供"
    # (not "超出了您的预算范围": a budget is not the assistant's remit)
    r"超出了?[^。！？]{0,8}(?:服务|业务|职责|帮忙|帮助|处理|能力|权限)的?范围",
    r"超出了?我们?的?(?:能力|权限)",
    r"不在[^。！？]{0,10}(?:服务|业务|职责|能力|处理)范围",
    r"只能(?:帮|协助|回答|处理|解答|办理|提供)[^。！？]{0,10}(?:问题|相关|事务|业务|咨询|服务)",
    r"只能在[^。！？]{0,12}后(?:提供|告知|透露|办理|处理|查询)",
]
CLARIFY_PATTERNS = [
    r"[?？]",
    r"请(?:问|提供|告诉|确认|说明)",
    r"\b(?:could|can|would) you (?:please )?(?:tell|provide|confirm|specify|let me know|clarify)\b",
    r"\bplease (?:provide|specify|confirm|let me know|tell me)\b",
]
# The generic closing offer of more help; removed before looking for a clarifying question.
OFFER_PATTERNS = [
    r"(?:\b(?:is there|would you like|do you need|can i help (?:you )?with|need)\s+)?\banything else\b[^.?!]{0,40}\?",
    r"\b(?:what|how) else can (?:i|we) (?:help|do|assist)\b[^.?!]{0,30}\?",
    r"(?:请问)?(?:您)?还(?:有|需要)(?:什么|其他|别的|其它)[^。！？?]{0,10}(?:帮|需要|问题|服务)[^。！？?]{0,6}[?？]",
]
# Labels that say "do not refuse here" (over-refusal is measured on them).
_NOT_REFUSE = {"answer", "clarify", "confirm", "call_tool", "inform", "greet", "bye"}
# Reference label -> predicted class that satisfies it.
_WANTED = {
    "clarify": "clarify",
    "confirm": "clarify",
    "refuse": "refuse",
    "call_tool": "call_tool",
    "answer": "answer",
    "inform": "answer",
}


class BehaviourOptions(ScorerOptions):
    refusal_patterns: list[str] = REFUSAL_PATTERNS
    clarify_patterns: list[str] = CLARIFY_PATTERNS
    offer_patterns: list[str] = OFFER_PATTERNS


def classify(msg: AssistantMessage | None, refusal: list[re.Pattern], clarify: list[re.Pattern],
             offer: list[re.Pattern] = ()) -> str:
    """``call_tool`` / ``refuse`` / ``clarify`` / ``answer`` / ``none`` for a predicted turn."""
    if msg is None:
        return "none"
    if msg.tool_calls:
        return "call_tool"
    text = msg.content.strip()
    if not text:
        return "none"
    lower = text.lower()
    if any(p.search(lower) for p in refusal):
        return "refuse"
    for p in offer:
        lower = p.sub(" ", lower)
    if any(p.search(lower) for p in clarify):
        return "clarify"
    return "answer"


class BehaviourScorer(BaseScorer):
    name = "behaviour"
    version = "2"
    higher_is_better = True
    Options = BehaviourOptions
    metrics = (
        MetricSpec("behaviour_accuracy", "ratio", True, "labelled turns whose behaviour matches the label"),
        MetricSpec("clarify_rate", "ratio", True, "turns labelled clarify/confirm where the model asked"),
        MetricSpec(
            "premature_call_rate",
            "ratio",
            False,
            "turns labelled clarify where the model called a tool instead",
        ),
        MetricSpec("refusal_accuracy", "ratio", True, "turns labelled refuse where the model refused"),
        MetricSpec(
            "over_refusal_rate", "ratio", False, "turns that must not be refused where the model refused"
        ),
    )

    def __init__(self, **options):
        super().__init__(**options)
        self._refusal = [re.compile(p, re.IGNORECASE) for p in self.options.refusal_patterns]
        self._clarify = [re.compile(p, re.IGNORECASE) for p in self.options.clarify_patterns]
        self._offer = [re.compile(p, re.IGNORECASE) for p in self.options.offer_patterns]

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        items = []
        for k, _, rm, _, pm in aligned_turns(pred, ref):
            label = rm.expected
            if label is None:
                continue
            got = classify(pm, self._refusal, self._clarify, self._offer)
            stats = {}
            if label in _WANTED:
                stats["behaviour_accuracy"] = mean_stat(got == _WANTED[label])
            if label in ("clarify", "confirm"):
                stats["clarify_rate"] = mean_stat(got == "clarify")
            if label == "clarify":
                stats["premature_call_rate"] = mean_stat(got == "call_tool")
            if label == "refuse":
                stats["refusal_accuracy"] = mean_stat(got == "refuse")
            if label in _NOT_REFUSE:
                stats["over_refusal_rate"] = mean_stat(got == "refuse")
            if stats:
                items.append(Item(ref.id, k, stats, {"expected": label, "behaviour": got}))
        return items
