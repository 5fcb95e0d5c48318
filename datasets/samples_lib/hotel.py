"""hotel_zh: 中文酒店查询与预订, with state, acts and tool calls."""

from __future__ import annotations

import random

from samples_lib.common import act, assistant, call, state, tool, user

D = "hotel"
CITIES = ["北京", "上海", "杭州", "成都", "西安", "广州", "南京"]
AREAS = {"北京": ["朝阳区", "海淀区", "东城区"], "上海": ["浦东新区", "徐汇区", "静安区"],
         "杭州": ["西湖区", "上城区", "滨江区"], "成都": ["锦江区", "武侯区", "青羊区"],
         "西安": ["雁塔区", "碑林区", "新城区"], "广州": ["天河区", "越秀区", "海珠区"],
         "南京": ["玄武区", "鼓楼区", "秦淮区"]}
NAMES = ["悦来", "锦江", "如家", "君悦", "云栖", "兰亭", "望湖", "听雨"]
KINDS = ["大酒店", "精品酒店", "商务酒店", "客栈"]
STARS = [3, 4, 5]
DATES = ["明天", "后天", "这周五", "下周一", "5月1日"]

TOOLS = [
    tool("find_hotel", "按城市查询酒店，可按区域和星级筛选。", {
        "city": {"type": "string", "description": "城市"},
        "area": {"type": "string", "description": "区域"},
        "stars": {"type": "integer", "description": "星级", "enum": STARS},
    }, ["city"]),
    tool("book_hotel", "预订酒店房间。", {
        "hotel_name": {"type": "string", "description": "酒店名称"},
        "check_in": {"type": "string", "description": "入住日期"},
        "nights": {"type": "integer", "description": "入住晚数", "minimum": 1},
        "guests": {"type": "integer", "description": "入住人数", "minimum": 1},
    }, ["hotel_name", "check_in", "nights", "guests"]),
]
SYSTEM = "你是一个酒店预订助手。请使用工具查询和预订酒店，不要编造结果。"


def _hotels(rng: random.Random, city: str, area: str | None, stars: int | None) -> list[dict]:
    out = []
    for _ in range(rng.choice([0, 1, 2, 2, 3])):
        out.append({"hotel_name": f"{city}{rng.choice(NAMES)}{rng.choice(KINDS)}",
                    "area": area or rng.choice(AREAS[city]), "stars": stars or rng.choice(STARS),
                    "price_per_night": rng.choice([268, 388, 458, 599, 888, 1280]),
                    "phone": f"0{rng.randint(10, 99)}-{rng.randint(10000000, 99999999)}"})
    return out


def _dialog(rng: random.Random, i: int) -> dict:
    city = rng.choice(CITIES)
    area = rng.choice(AREAS[city]) if rng.random() < 0.6 else None
    stars = rng.choice(STARS) if rng.random() < 0.5 else None
    msgs: list[dict] = [{"role": "system", "content": SYSTEM}]
    slots: dict = {"city": city}
    msgs.append(user(f"你好，我想在{city}订一家酒店。", [act("INFORM_INTENT", "intent", ["find_hotel"], D),
                                                   act("INFORM", "city", [city], D)]))
    msgs.append(assistant("好的。您对区域或者星级有要求吗？", state(D, "find_hotel", slots),
                          [act("REQUEST", "area", domain=D), act("REQUEST", "stars", domain=D)]))
    wants = []
    if area:
        slots["area"] = area
        wants.append(f"最好在{area}")
    if stars:
        slots["stars"] = stars
        wants.append(f"{stars}星级的")
    text = "，".join(wants) + "。" if wants else "都可以，没有特别要求。"
    msgs.append(user(text, [act("INFORM", k, [v], D) for k, v in slots.items() if k != "city"]
                     or [act("INFORM", "area", ["dontcare"], D)]))
    results = _hotels(rng, city, area, stars)
    call(msgs, [("find_hotel", dict(slots), results)], state(D, "find_hotel", slots))
    goal = {"intents": ["find_hotel"], "constraints": dict(slots)}
    if not results:
        msgs.append(assistant("抱歉，没有找到符合条件的酒店。要不要换个区域试试？", acts=[act("NOTIFY_FAILURE", domain=D)]))
        msgs.append(user("那算了，谢谢。", [act("THANK_YOU", domain=D)]))
        msgs.append(assistant("不客气，祝您旅途愉快！", state(D, "find_hotel", slots), [act("GOODBYE", domain=D)]))
        return _wrap(i, msgs, goal)
    h = results[0]
    msgs.append(assistant(f"为您找到{len(results)}家酒店。推荐{h['hotel_name']}，位于{h['area']}，{h['stars']}星级，"
                          f"每晚{h['price_per_night']}元。", acts=[act("OFFER", "hotel_name", [h["hotel_name"]], D)]))
    nights, guests, date = rng.randint(1, 5), rng.randint(1, 4), rng.choice(DATES)
    msgs.append(user(f"就订这家吧，{date}入住，住{nights}晚，{guests}个人。", [
        act("INFORM_INTENT", "intent", ["book_hotel"], D), act("INFORM", "check_in", [date], D),
        act("INFORM", "nights", [nights], D), act("INFORM", "guests", [guests], D)]))
    booking = {"hotel_name": h["hotel_name"], "check_in": date, "nights": nights, "guests": guests}
    ref = f"H{rng.randint(100000, 999999)}"
    call(msgs, [("book_hotel", booking, {"status": "confirmed", "reference": ref,
                                          "total_price": h["price_per_night"] * nights})],
         state(D, "book_hotel", {**slots, **booking}))
    msgs.append(assistant(f"已为您预订{h['hotel_name']}，{date}入住，共{nights}晚，"
                          f"总价{h['price_per_night'] * nights}元，订单号{ref}。",
                          acts=[act("NOTIFY_SUCCESS", domain=D), act("INFORM", "reference", [ref], D)]))
    msgs.append(user("太好了，谢谢！", [act("THANK_YOU", domain=D)]))
    msgs.append(assistant("不客气，祝您入住愉快！", state(D, "book_hotel", {**slots, **booking}),
                          [act("GOODBYE", domain=D)]))
    goal["intents"].append("book_hotel")
    goal["booking"] = {"check_in": date, "nights": nights, "guests": guests}
    return _wrap(i, msgs, goal)


def _wrap(i: int, msgs: list[dict], goal: dict) -> dict:
    return {"id": f"hotel-zh-{i:04d}", "messages": msgs, "tools": TOOLS, "goal": goal,
            "metadata": {"source": "dialogkit-samples", "domain": D, "language": "zh", "split": "train"}}


def build(rng: random.Random) -> list[dict]:
    return [_dialog(rng, i) for i in range(1, 61)]
