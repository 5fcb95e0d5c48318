"""tools_mixed: tool calling in Chinese and English (weather, currency, time), incl. parallel calls."""

from __future__ import annotations

import random

from samples_lib.common import assistant, call, tool, user

TOOLS = [
    tool("get_weather", "Get the weather forecast for a city on a date.", {
        "city": {"type": "string", "description": "City name, e.g. Beijing or 北京"},
        "date": {"type": "string", "description": "ISO date, e.g. 2025-05-01"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
    }, ["city", "date"]),
    tool("convert_currency", "Convert an amount of money between currencies at today's rate.", {
        "amount": {"type": "number", "description": "Amount to convert"},
        "from_currency": {"type": "string", "description": "ISO code, e.g. USD"},
        "to_currency": {"type": "string", "description": "ISO code, e.g. CNY"},
    }, ["amount", "from_currency", "to_currency"]),
    tool("get_time", "Get the current local time in a time zone.", {
        "timezone": {"type": "string", "description": "IANA time zone, e.g. Asia/Shanghai"},
    }, ["timezone"]),
]
CITIES = [("Beijing", "北京"), ("Shanghai", "上海"), ("Shenzhen", "深圳"), ("London", "伦敦"), ("Paris", "巴黎"),
          ("New York", "纽约"), ("Tokyo", "东京"), ("Sydney", "悉尼")]
ZONES = [("Asia/Shanghai", "北京"), ("Europe/London", "伦敦"), ("America/New_York", "纽约"), ("Asia/Tokyo", "东京")]
SKY_EN = ["sunny", "cloudy", "light rain", "overcast", "thunderstorms"]
SKY_ZH = {"sunny": "晴", "cloudy": "多云", "light rain": "小雨", "overcast": "阴", "thunderstorms": "雷阵雨"}
RATES = {("USD", "CNY"): 7.1, ("EUR", "CNY"): 7.8, ("CNY", "JPY"): 20.5, ("GBP", "USD"): 1.27, ("USD", "EUR"): 0.92}
SYSTEM_EN = "You are a helpful assistant with tools. Call a tool when it helps; answer from its results."
SYSTEM_ZH = "你是一个可以调用工具的助手。需要时调用工具，并根据工具结果回答。"


def _weather(rng: random.Random, city: str, date: str) -> dict:
    high = rng.randint(5, 34)
    return {"city": city, "date": date, "condition": rng.choice(SKY_EN), "high_c": high,
            "low_c": high - rng.randint(3, 12)}


def _weather_dialog(rng: random.Random, zh: bool) -> list[dict]:
    (c1, z1), (c2, z2) = rng.sample(CITIES, 2)
    date = f"2025-05-{rng.randint(1, 28):02d}"
    both = rng.random() < 0.4  # parallel calls
    msgs = [{"role": "system", "content": SYSTEM_ZH if zh else SYSTEM_EN}]
    if both:
        msgs.append(user(f"{date}{z1}和{z2}的天气怎么样？" if zh else f"What's the weather in {c1} and {c2} on {date}?"))
        w1, w2 = _weather(rng, c1, date), _weather(rng, c2, date)
        call(msgs, [("get_weather", {"city": c1, "date": date}, w1), ("get_weather", {"city": c2, "date": date}, w2)])
        if zh:
            text = (f"{date}{z1}{SKY_ZH[w1['condition']]}，{w1['low_c']}到{w1['high_c']}摄氏度；"
                    f"{z2}{SKY_ZH[w2['condition']]}，{w2['low_c']}到{w2['high_c']}摄氏度。")
        else:
            text = (f"The forecast for {date}: {c1} {w1['condition']} ({w1['low_c']} to {w1['high_c']} °C), "
                    f"{c2} {w2['condition']} ({w2['low_c']} to {w2['high_c']} °C).")
        msgs.append(assistant(text))
        return msgs
    msgs.append(user(f"{z1}{date}会下雨吗？" if zh else f"Will it rain in {c1} on {date}?"))
    w = _weather(rng, c1, date)
    call(msgs, [("get_weather", {"city": c1, "date": date}, w)])
    rain = "rain" in w["condition"] or "thunder" in w["condition"]
    if zh:
        text = f"{'会' if rain else '不会'}。那天{z1}{SKY_ZH[w['condition']]}，最高{w['high_c']}摄氏度。"
    else:
        text = f"{'Yes' if rain else 'No'}: the forecast for {c1} is {w['condition']}, with a high of {w['high_c']} °C."
    msgs.append(assistant(text))
    msgs.append(user("谢谢！" if zh else "Thanks!"))
    msgs.append(assistant("不客气！" if zh else "You're welcome!"))
    return msgs


def _currency_dialog(rng: random.Random, zh: bool) -> list[dict]:
    (src, dst), rate = rng.choice(list(RATES.items()))
    amount = rng.choice([20, 50, 100, 250, 1000, 1999.5])
    msgs = [{"role": "system", "content": SYSTEM_ZH if zh else SYSTEM_EN}]
    msgs.append(user(f"{amount} {src}能换多少{dst}？" if zh else f"How much is {amount} {src} in {dst}?"))
    value = round(amount * rate, 2)
    call(msgs, [("convert_currency", {"amount": amount, "from_currency": src, "to_currency": dst},
                 {"amount": value, "currency": dst, "rate": rate})])
    msgs.append(assistant(f"按今天的汇率{rate}，{amount} {src}约等于{value} {dst}。" if zh
                          else f"At today's rate of {rate}, {amount} {src} is about {value} {dst}."))
    return msgs


def _time_dialog(rng: random.Random, zh: bool) -> list[dict]:
    zone, name = rng.choice(ZONES)
    msgs = [{"role": "system", "content": SYSTEM_ZH if zh else SYSTEM_EN}]
    msgs.append(user(f"{name}现在几点？" if zh else f"What time is it in {zone.split('/')[1].replace('_', ' ')}?"))
    if rng.random() < 0.2:  # a failing tool, answered honestly
        call(msgs, [("get_time", {"timezone": zone}, {"error": "time service unavailable"})])
        msgs.append(assistant("抱歉，时间服务暂时不可用，请稍后再试。" if zh
                              else "Sorry, the time service is unavailable right now. Please try again later."))
        return msgs
    hh, mm = rng.randint(0, 23), rng.randint(0, 59)
    call(msgs, [("get_time", {"timezone": zone}, {"timezone": zone, "time": f"{hh:02d}:{mm:02d}"})])
    msgs.append(assistant(f"{name}现在是{hh:02d}:{mm:02d}。" if zh else f"It is {hh:02d}:{mm:02d} there now."))
    return msgs


def build(rng: random.Random) -> list[dict]:
    makers = [_weather_dialog, _weather_dialog, _currency_dialog, _time_dialog]
    out = []
    for i in range(1, 81):
        zh = i % 2 == 0
        msgs = rng.choice(makers)(rng, zh)
        out.append({"id": f"tools-{'zh' if zh else 'en'}-{i:04d}", "messages": msgs, "tools": TOOLS,
                    "metadata": {"source": "dialogkit-samples", "domain": "tools", "language": "zh" if zh else "en",
                                 "split": "train"}})
    return out
