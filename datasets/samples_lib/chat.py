"""chat_mixed: open multi-turn chat in Chinese and English, with system prompts."""

from __future__ import annotations

import random

SYSTEMS_EN = ["You are a friendly, concise assistant.", "You are a patient tutor. Explain simply.", ""]
SYSTEMS_ZH = ["你是一个友好、简洁的助手。", "你是一位耐心的老师，请用通俗的语言解释。", ""]

TOPICS_EN = [
    [("Why is the sky blue?", "Sunlight is scattered by the molecules in the air, and shorter (blue) wavelengths "
      "are scattered much more than longer (red) ones. That scattered blue light reaches your eyes from every "
      "direction, so the sky looks blue."),
     ("Then why are sunsets red?", "At sunset the light crosses much more air before reaching you. Most of the "
      "blue is scattered away on the way, so the remaining direct light looks orange and red.")],
    [("What is a hash map?", "A hash map stores key-value pairs. It runs the key through a hash function to pick "
      "a bucket, so lookups, inserts and deletes take constant time on average."),
     ("What happens when two keys land in the same bucket?", "That is a collision. Common fixes are chaining "
      "(each bucket keeps a small list) or open addressing (probe for the next free slot).")],
    [("Can you suggest a name for a grey cat?", "How about Smokey, Ash, Pebble or Earl Grey?"),
     ("Something more unusual?", "Try Nimbus, Graphite, Wisp or Tungsten."),
     ("I like Nimbus. Thanks!", "Nimbus is a lovely name. Enjoy your new cat!")],
    [("How do I keep basil alive indoors?", "Give it at least six hours of sun, water when the top of the soil "
      "is dry, and pinch off the top leaves often so it grows bushy instead of flowering."),
     ("Its leaves are turning yellow.", "Yellow leaves usually mean too much water. Let the soil dry out a bit "
      "more between waterings and make sure the pot drains.")],
    [("What's the difference between weather and climate?", "Weather is what the atmosphere does over hours or "
      "days. Climate is the average pattern of weather in a place over decades.")],
    [("Write a haiku about autumn.", "Maple leaves drifting\nthe cold river carries them\nslowly out of sight"),
     ("Now one about spring.", "Plum blossoms open\na thin rain on the rooftops\nthe garden wakes up")],
]
TOPICS_ZH = [
    [("为什么天空是蓝色的？", "阳光穿过大气时会被空气分子散射，波长较短的蓝光比红光散射得多得多。被散射的蓝光从四面八方进入眼睛，所以天空看起来是蓝色的。"),
     ("那为什么日落是红色的？", "日落时阳光要穿过更厚的大气层，蓝光在途中大多被散射掉了，剩下到达我们眼睛的主要是橙色和红色的光。")],
    [("什么是哈希表？", "哈希表用来存储键值对。它先用哈希函数把键映射到某个桶，所以查找、插入和删除的平均时间复杂度都是常数级。"),
     ("两个键落在同一个桶里怎么办？", "这叫哈希冲突。常见的解决办法有链地址法（每个桶挂一个小链表）和开放地址法（继续探测下一个空位）。")],
    [("给我的灰猫起个名字吧。", "可以叫“灰灰”、“烟斗”、“石头”或者“伯爵”。"),
     ("有没有更特别一点的？", "试试“云朵”、“墨点”、“银河”或者“钨丝”。"),
     ("就叫云朵吧，谢谢！", "“云朵”很可爱，祝你和云朵相处愉快！")],
    [("室内怎么养好罗勒？", "每天至少给它六小时日照，土表干了再浇水，并经常掐掉顶端的嫩叶，这样它会长得更茂密，也不容易开花。"),
     ("叶子开始发黄了。", "叶子发黄通常是浇水太多。两次浇水之间让土再干一些，并确认花盆底部能排水。")],
    [("天气和气候有什么区别？", "天气是几小时到几天内大气的状况；气候是一个地方几十年间天气的平均规律。")],
    [("写一首关于秋天的短诗。", "枫叶随风落，\n寒江载远去，\n秋色入空山。"),
     ("再写一首关于春天的。", "细雨润檐瓦，\n梅花一夜开，\n园中万物醒。")],
]


def build(rng: random.Random) -> list[dict]:
    out = []
    for i in range(1, 49):
        zh = i % 2 == 0
        topic = rng.choice(TOPICS_ZH if zh else TOPICS_EN)
        turns = topic[: rng.randint(1, len(topic))]
        system = rng.choice(SYSTEMS_ZH if zh else SYSTEMS_EN)
        msgs = [{"role": "system", "content": system}] if system else []
        for q, a in turns:
            msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        lang = "zh" if zh else "en"
        out.append({"id": f"chat-{lang}-{i:04d}", "messages": msgs,
                    "metadata": {"source": "dialogkit-samples", "domain": "chat", "language": lang, "split": "train"}})
    return out
