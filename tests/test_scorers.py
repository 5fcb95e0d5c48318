"""Unit tests of the individual scorers, the registry and the aggregators."""

from __future__ import annotations

import json
import math

import pytest
import sacrebleu

from dialogkit.errors import UsageError
from dialogkit.schema import Dialog
from dialogkit.score import fuzzy
from dialogkit.score.base import SCORERS, Item, aggregate, make_scorer
from dialogkit.score.behaviour import BehaviourScorer
from dialogkit.score.dialog import TaskSuccessScorer
from dialogkit.score.grounding import GroundednessScorer, entities, numbers
from dialogkit.score.report import compute
from dialogkit.score.state import StateScorer, requested_f1
from dialogkit.score.text import RepetitionScorer, TextScorer, rouge_l


def dialog(id, *messages, **kw):
    return Dialog.model_validate({"id": id, "messages": list(messages), **kw})


def A(content="", **kw):
    return {"role": "assistant", "content": content, **kw}


U = {"role": "user", "content": "hi"}


# ------------------------------------------------------------------------------ fuzzy (SGD)
def test_token_sort_ratio_matches_fuzzywuzzy_semantics():
    assert fuzzy.token_sort_ratio("fuzzy wuzzy was a bear", "wuzzy fuzzy was a bear") == 100
    # Indel ratio, rounded to an int: "centre" vs "center" -> 2*5/12 = 0.8333 -> 83.
    assert fuzzy.token_sort_ratio("centre", "center") == 83
    assert fuzzy.token_sort_ratio("New York", "new york!") == 100  # lowercased, punctuation -> space
    # fuzzywuzzy deletes code points 128-255 (force_ascii), so "Café" == "Caf"; rapidfuzz would keep the é.
    assert fuzzy.token_sort_ratio("Café", "Caf") == 100
    # "_" is a word character for fuzzywuzzy's \W regex (rapidfuzz's default_process replaces it).
    assert fuzzy.full_process("a_b") == "a_b"
    assert fuzzy.token_sort_ratio("上海", "上海") == 100 and fuzzy.token_sort_ratio("上海", "北京") == 0
    assert fuzzy.token_sort_ratio("!!", "??") == 100, (
        "both process to '' and are equal (checked before emptiness)"
    )
    assert fuzzy.token_sort_ratio("abc", "") == 0
    assert fuzzy.sgd_fuzzy_score(["centre", "center"], "center") == 1.0


def test_requested_slot_f1_follows_sgd_code():
    assert requested_f1([], []) == 1.0
    assert requested_f1(["phone"], []) == 0.0
    assert requested_f1(["phone", "area"], ["phone"]) == pytest.approx(2 / 3)


# ------------------------------------------------------------------------------ state
def test_state_scorer_fuzzy_credit_and_joint_product():
    ref = dialog(
        "d",
        U,
        A(
            "ok",
            state={
                "domain": "hotel",
                "active_intent": "find",
                "slots": {"name": "the lensfield hotel", "stars": "4", "area": "centre"},
                "requested_slots": ["phone"],
            },
        ),
    )
    pred = dialog(
        "d",
        U,
        A(
            "ok",
            state={
                "domain": "hotel",
                "active_intent": "find",
                "slots": {"name": "lensfield hotel the", "stars": "4", "area": "center", "parking": "yes"},
            },
        ),
    )
    [item] = StateScorer(categorical_slots=["stars"]).score(pred, ref)
    s = item.stats
    # name: token order does not matter -> 1; area 0.83; parking absent in ref, present in hyp -> 0.
    assert s["joint_goal_accuracy"] == [0.0, 1.0]
    assert s["average_goal_accuracy"][0] == pytest.approx((1 + 1 + 0.83) / 3)
    assert s["requested_slots_f1"] == [0.0, 1.0]
    assert s["slot_f1"] == [2, 2, 1]  # tp name+stars; fp area+parking; fn area
    pred2 = dialog(
        "d",
        U,
        A(
            "ok",
            state={
                "domain": "hotel",
                "active_intent": "find",
                "slots": {"name": "lensfield hotel the", "stars": "4", "area": "center"},
                "requested_slots": ["phone"],
            },
        ),
    )
    [item2] = StateScorer(categorical_slots=["stars"]).score(pred2, ref)
    assert item2.stats["joint_goal_accuracy"][0] == pytest.approx(0.83)
    [exact] = StateScorer(categorical_slots=["stars"], fuzzy=False).score(pred2, ref)
    assert exact.stats["joint_goal_accuracy"][0] == 0.0


def test_state_across_turn_multiplies_frames():
    state = {"domain": "hotel", "slots": {"area": "centre"}, "frames": {"taxi": {"slots": {"leave": "5 pm"}}}}
    ref = dialog("d", U, A("ok", state=state))
    pred = dialog(
        "d",
        U,
        A(
            "ok",
            state={
                "domain": "hotel",
                "slots": {"area": "centre"},
                "frames": {"taxi": {"slots": {"leave": "6 pm"}}},
            },
        ),
    )
    [per_frame] = StateScorer().score(pred, ref)
    [per_turn] = StateScorer(across_turn=True).score(pred, ref)
    leave = fuzzy.token_sort_ratio("5 pm", "6 pm") / 100
    assert per_frame.stats["joint_goal_accuracy"] == [pytest.approx(1 + leave), 2.0]
    assert per_turn.stats["joint_goal_accuracy"] == [pytest.approx(leave), 1.0]


def test_missing_prediction_fails_state():
    ref = dialog("d", U, A("ok", state={"slots": {"a": "x"}}))
    [item] = StateScorer().score(None, ref)
    assert item.stats["joint_goal_accuracy"] == [0.0, 1.0] and item.info["missing_turn"]


# ------------------------------------------------------------------------------ behaviour
@pytest.mark.parametrize(
    "text,calls,expected",
    [
        ("I'm sorry, but I can't help with that.", [], "refuse"),
        ("抱歉，我无法提供该信息。", [], "refuse"),
        ("Which day would you like to travel?", [], "clarify"),
        ("请问您想订几晚？", [], "clarify"),
        ("Your table is booked for 7 pm.", [], "answer"),
        ("", [{"id": "c", "name": "f", "arguments": {}}], "call_tool"),
        ("", [], "none"),
    ],
)
def test_behaviour_classification(text, calls, expected):
    ref = dialog("d", U, A("x", expected="answer"))
    pred = dialog("d", U, A(text, tool_calls=calls))
    [item] = BehaviourScorer().score(pred, ref)
    assert item.info["behaviour"] == expected


def test_clarify_premature_call_and_over_refusal():
    ref = dialog("d", U, A("Which city?", expected="clarify"), U, A("Done.", expected="answer"))
    pred = dialog(
        "d", U, A(tool_calls=[{"id": "c", "name": "book", "arguments": {}}]), U, A("I cannot help with that.")
    )
    items = BehaviourScorer().score(pred, ref)
    assert items[0].stats["premature_call_rate"] == [1.0, 1.0] and items[0].stats["clarify_rate"] == [
        0.0,
        1.0,
    ]
    assert items[1].stats["over_refusal_rate"] == [1.0, 1.0]


def _behaviour(text):
    ref = dialog("d", U, A("x", expected="answer"))
    [item] = BehaviourScorer().score(dialog("d", U, A(text)), ref)
    return item.info["behaviour"]


@pytest.mark.parametrize(
    "text",
    [
        # scope limits, English and Chinese
        "Sorry, I can only help with questions about your bookings.",
        "We only deal with train tickets here.",
        "I'm afraid that request is outside what I can do for you.",
        "That falls outside my remit, I'm afraid.",
        "这个问题超出了我的服务范围。",
        "这不在我们的业务范围内，建议您联系航空公司。",
        "我只能解答酒店预订相关的问题。",
        # inability to act for the user, with or without an apology
        "We cannot disclose another guest's details.",
        "很抱歉，出于安全考虑，我没办法帮您修改密码。",
        "抱歉，暂时无法为您查询其他用户的信息。",
        "账户信息只能在验证手机号后告知。",
    ],
)
def test_refusals_are_recognised(text):
    assert _behaviour(text) == "refuse"


@pytest.mark.parametrize(
    "text,expected",
    [
        # an inability that is about the world, an alternative, a budget: information, not refusals
        ("Sorry, the order has shipped, so it can no longer be cancelled.", "answer"),
        ("抱歉，这个订单已发货，已经无法取消了。", "answer"),
        ("I can only offer you a table at 9 pm tonight.", "answer"),
        ("这个方案超出了您的预算范围。", "answer"),
        # the generic closing offer is not a question about the task
        ("Your room is booked for two nights. Is there anything else I can help you with?", "answer"),
        ("已为您订好明天的车票。请问还有其他需要帮忙的吗？", "answer"),
        # a real question next to the offer still is one
        ("Shall I book it? Anything else?", "clarify"),
        ("还需要帮您预订返程吗？", "clarify"),
    ],
)
def test_not_refusals_and_closing_offers(text, expected):
    assert _behaviour(text) == expected


# ------------------------------------------------------------------------------ text
def test_bleu_from_summed_stats_equals_sacrebleu_corpus_bleu():
    hyps = ["the cat sat on the mat", "a quick brown fox", "hello there"]
    refs = ["the cat sat on a mat", "the quick brown fox jumps", "hello there general"]
    ref = dialog("d", *[m for r in refs for m in (U, A(r))], metadata={"language": "en"})
    pred = dialog("d", *[m for h in hyps for m in (U, A(h))])
    items = TextScorer().score(pred, ref)
    values = compute(items, {m.name: m for m in TextScorer.metrics})
    assert values["bleu"][0] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score / 100)
    assert values["chrf"][0] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score / 100)


def test_chinese_dialogs_use_the_zh_tokenizer():
    ref = dialog("z", U, A("已为您预订上海的酒店"), metadata={"language": "zh"})
    pred = dialog("z", U, A("已为您预订北京的酒店"))
    [item] = TextScorer().score(pred, ref)
    expected = sacrebleu.corpus_bleu(["已为您预订北京的酒店"], [["已为您预订上海的酒店"]], tokenize="zh")
    assert aggregate("bleu", [item.stats["bleu"]]) == pytest.approx(expected.score / 100)


def test_rouge_l_and_repetition():
    assert rouge_l("the cat sat", "the cat sat") == 1.0
    assert rouge_l("a b c d", "a c d e") == pytest.approx(0.75)
    assert rouge_l("上海酒店", "上海的酒店") == pytest.approx(2 * (4 / 4) * (4 / 5) / (4 / 4 + 4 / 5))
    pred = dialog("d", U, A("ok ok ok ok ok"), U, A("ok ok ok ok ok"))
    [item] = RepetitionScorer().score(pred, dialog("d", U, A("x"), U, A("y")))
    assert item.stats["repeated_turn_rate"] == [1, 2]
    assert item.stats["repeated_ngram_rate"] == [4, 6]  # 3 trigrams per reply, all the same
    assert item.stats["distinct_1"] == [0.1, 1.0]


# ------------------------------------------------------------------------------ grounding
def test_numbers_and_entities_extraction():
    assert numbers("costs $1,250.50 or 45.5, code HT1234, 总价980元") == {1250.5, 45.5, 980.0}
    assert entities("Sure. The Lensfield Hotel is near Trinity College. It opens daily.") == {
        "The Lensfield Hotel",
        "Trinity College",
    }
    # pronoun-led phrases and sentence grammar are not names; Latin runs stop at Chinese text
    assert entities("Glad I could help. Shall I book it? Can I help with anything else?") == set()
    assert entities("Thanks! It's Blue Lotus, and I think You'll like Blue Lotus.") == {"Blue Lotus"}
    assert entities("耳机 X2目前已发货，预计周五送达。") == {"X2"}


def _grounded(reply, *context):
    msgs = [{"role": "system", "content": "You book trains and hotels."}, *context, A(reply)]
    [item] = GroundednessScorer().score(dialog("g", *msgs), dialog("g", *msgs))
    return item.stats["grounded_rate"], item.info.get("ungrounded", [])


def _tool(content):
    return [A(tool_calls=[{"id": "c", "name": "f", "arguments": {}}]),
            {"role": "tool", "tool_call_id": "c", "name": "f", "content": content}]


def test_grounding_accepts_totals_labels_and_sentence_grammar():
    user = {"role": "user", "content": "2 tickets on 2025-05-12 please, or 3 if cheap."}
    ctx = [user, *_tool({"train": "G102", "price": 54.5, "hotel": "Acorn House", "per_night": 75, "fee": 30})]
    # 2 × 54.5 (a count from the user times a price), 75 + 30 (two amounts), the labelled code
    assert _grounded("Order G102 is yours: 2 tickets, 109 in total. Glad I could help!", *ctx) == ([3, 3], [])
    assert _grounded("Acorn House: 105 for one night with the fee.", *ctx) == ([2, 2], [])
    # not derivable: a price off by one (421 + 1 would be "a price plus a count"), a day count
    # from a date, a time computed from small numbers, an unknown name or policy number
    assert _grounded("That is 55.5 each.", *ctx) == ([0, 1], [55.5])
    assert _grounded("You may return it within 17 days.", *ctx) == ([0, 1], [17.0])  # 5 + 12 come from a date
    assert _grounded("It leaves at 6:15.", *ctx) == ([0, 2], [6.0, 15.0])  # 6 = 2 × 3, but times are read, not computed
    assert _grounded("The Grand Budapest has rooms.", *ctx) == ([0, 1], ["The Grand Budapest"])
    # the system prompt and the user's words support a claim like a tool result does
    assert _grounded("Booked for 3 travellers.", *ctx) == ([1, 1], [])


# ------------------------------------------------------------------------------ task / pass^k
def test_pass_hat_k_uses_the_combinatorial_estimator():
    items = [Item("a", None, {}, {"success": s}) for s in (True, True, False)]
    items += [Item("b", None, {}, {"success": s}) for s in (True, False, False)]
    summary = TaskSuccessScorer().summarize(items)
    assert summary["pass_hat_k"]["1"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert summary["pass_hat_k"]["2"] == pytest.approx((1 / 3 + 0) / 2)
    assert summary["pass_hat_k"]["3"] == 0.0


def test_database_state_decides_success():
    ref = dialog("d", U, A("done"), metadata={"final_db": {"orders": [{"id": 1, "status": "cancelled"}]}})
    good = dialog("d", U, A("done"), metadata={"final_db": {"orders": [{"status": "cancelled", "id": 1}]}})
    bad = dialog("d", U, A("done"), metadata={"final_db": {"orders": [{"id": 1, "status": "open"}]}})
    scorer = TaskSuccessScorer()
    assert scorer.score(good, ref)[0].stats["db_match_rate"] == [1.0, 1.0]
    assert scorer.score(bad, ref)[0].stats["task_success"] == [0.0, 1.0]


# ------------------------------------------------------------------------------ registry
def test_registry_lists_builtins_and_validates_options():
    for name in (
        "tools",
        "structured",
        "state",
        "behaviour",
        "text",
        "repetition",
        "groundedness",
        "task",
        "robustness",
        "judge",
    ):
        assert name in SCORERS
    with pytest.raises(UsageError, match="bad options: nope"):
        make_scorer("state", {"nope": 1})
    with pytest.raises(UsageError, match="Did you mean: state"):
        make_scorer("stat")


def test_third_party_scorer_via_registry():
    class Length:
        name, version, higher_is_better = "length", "1", False
        from dialogkit.score.base import MetricSpec

        metrics = (MetricSpec("reply_chars", "ratio", False, scale="count"),)

        def score(self, pred, ref):
            return [Item(ref.id, None, {"reply_chars": [sum(len(m.content) for m in pred.messages), 1]})]

    SCORERS.register("test_length", lambda **opts: Length())
    scorer = make_scorer("test_length")
    assert scorer.score(dialog("d", U), dialog("d", U))[0].stats["reply_chars"] == [2, 1]


def test_aggregators():
    assert aggregate("f1", [[1, 0, 1], [1, 1, 0]]) == pytest.approx(2 * 2 / (4 + 1 + 1))
    assert aggregate("ratio", []) is None
    assert aggregate("precision", [[0, 0, 3]]) is None
    assert math.isclose(aggregate("ratio", [[1, 2], [1, 2]]), 0.5)
    json.dumps([aggregate("bleu", [[0] * 10])])  # no NaN sneaks into reports
