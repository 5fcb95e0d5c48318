"""restaurant_en: find and book restaurants, English, with state, acts and tool calls."""

from __future__ import annotations

import random

from samples_lib.common import act, assistant, call, state, tool, user

D = "restaurants"
CITIES = ["San Jose", "Palo Alto", "Oakland", "Berkeley", "Sunnyvale", "Fremont"]
CUISINES = ["Italian", "Mexican", "Thai", "Indian", "Chinese", "Japanese", "Greek"]
PRICES = ["cheap", "moderate", "expensive"]
FIRST = ["Golden", "Little", "Blue", "Old Town", "Sunny", "Corner", "Lucky", "Green"]
SECOND = ["Garden", "Kitchen", "Table", "Bistro", "House", "Grill", "Spoon", "Lantern"]
STREETS = ["Main Street", "Oak Avenue", "University Avenue", "El Camino Real", "First Street", "Park Road"]
TIMES = ["6 pm", "6:30 pm", "7 pm", "7:30 pm", "8 pm", "noon", "1 pm"]
DATES = ["today", "tomorrow", "this Friday", "Saturday", "next Monday"]

TOOLS = [
    tool("FindRestaurants", "Find restaurants by city and cuisine, optionally by price range.", {
        "city": {"type": "string", "description": "City of the restaurant"},
        "cuisine": {"type": "string", "description": "Type of food", "enum": CUISINES},
        "price_range": {"type": "string", "description": "Price range", "enum": PRICES},
    }, ["city", "cuisine"]),
    tool("ReserveRestaurant", "Reserve a table at a restaurant.", {
        "restaurant_name": {"type": "string", "description": "Name of the restaurant"},
        "city": {"type": "string", "description": "City of the restaurant"},
        "time": {"type": "string", "description": "Time of the reservation"},
        "date": {"type": "string", "description": "Date of the reservation"},
        "party_size": {"type": "integer", "description": "Number of people", "minimum": 1, "maximum": 10},
    }, ["restaurant_name", "city", "time", "party_size"]),
]
SYSTEM = "You are a restaurant assistant. Use the tools to find and book restaurants; never invent results."


def _results(rng: random.Random, city: str, cuisine: str, price: str | None) -> list[dict]:
    n = rng.choice([0, 1, 2, 3, 3])
    out = []
    for _ in range(n):
        out.append({"restaurant_name": f"{rng.choice(FIRST)} {rng.choice(SECOND)}", "city": city,
                    "cuisine": cuisine, "price_range": price or rng.choice(PRICES),
                    "street_address": f"{rng.randint(10, 999)} {rng.choice(STREETS)}",
                    "phone_number": f"408-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"})
    return out


def _dialog(rng: random.Random, i: int) -> dict:
    city, cuisine = rng.choice(CITIES), rng.choice(CUISINES)
    price = rng.choice(PRICES) if rng.random() < 0.6 else None
    msgs: list[dict] = [{"role": "system", "content": SYSTEM}]
    slots = {"city": city, "cuisine": cuisine}
    if rng.random() < 0.5:
        msgs.append(user(f"Hi, I'd like a {cuisine} restaurant in {city}.", [
            act("INFORM_INTENT", "intent", ["FindRestaurants"], D), act("INFORM", "city", [city], D),
            act("INFORM", "cuisine", [cuisine], D)]))
    else:
        msgs.append(user(f"I'm hungry. Can you find me a place to eat in {city}?", [
            act("INFORM_INTENT", "intent", ["FindRestaurants"], D), act("INFORM", "city", [city], D)]))
        msgs.append(assistant("Sure. What kind of food would you like?",
                              state(D, "FindRestaurants", {"city": city}), [act("REQUEST", "cuisine", domain=D)]))
        msgs.append(user(f"Something {cuisine}, please.", [act("INFORM", "cuisine", [cuisine], D)]))
    if price:
        msgs.append(assistant("Do you have a price range in mind?", state(D, "FindRestaurants", slots),
                              [act("REQUEST", "price_range", domain=D)]))
        msgs.append(user(f"Let's keep it {price}.", [act("INFORM", "price_range", [price], D)]))
        slots["price_range"] = price
    results = _results(rng, city, cuisine, price)
    call(msgs, [("FindRestaurants", dict(slots), results)], state(D, "FindRestaurants", slots))
    goal = {"intents": ["FindRestaurants"], "constraints": dict(slots)}
    if not results:
        msgs.append(assistant(f"Sorry, I couldn't find any {cuisine} restaurants in {city} that match.",
                              acts=[act("NOTIFY_FAILURE", domain=D)]))
        msgs.append(user("Oh well, never mind. Thanks anyway.", [act("THANK_YOU", domain=D)]))
        msgs.append(assistant("You're welcome. Have a nice day!", state(D, "FindRestaurants", slots),
                              [act("GOODBYE", domain=D)]))
        return _wrap(i, msgs, goal)
    best = results[0]
    name = best["restaurant_name"]
    msgs.append(assistant(f"I found {len(results)} option(s). How about {name} at {best['street_address']}? "
                          f"It is a {best['price_range']} {cuisine} restaurant.",
                          acts=[act("OFFER", "restaurant_name", [name], D), act("INFORM_COUNT", "count",
                                                                                [len(results)], D)]))
    if rng.random() < 0.35:
        msgs.append(user("What's their phone number?", [act("REQUEST", "phone_number", domain=D)]))
        msgs.append(assistant(f"You can reach them at {best['phone_number']}.",
                              state(D, "FindRestaurants", {**slots, "restaurant_name": name}, ["phone_number"]),
                              [act("INFORM", "phone_number", [best["phone_number"]], D)]))
        goal["requests"] = ["phone_number"]
    size, time, date = rng.randint(1, 8), rng.choice(TIMES), rng.choice(DATES)
    msgs.append(user(f"Great, please book a table for {size} at {time} {date}.", [
        act("INFORM_INTENT", "intent", ["ReserveRestaurant"], D), act("INFORM", "party_size", [size], D),
        act("INFORM", "time", [time], D), act("INFORM", "date", [date], D)]))
    booking = {"restaurant_name": name, "city": city, "time": time, "date": date, "party_size": size}
    ref = f"R{rng.randint(10000, 99999)}"
    call(msgs, [("ReserveRestaurant", booking, {"status": "confirmed", "reference": ref})],
         state(D, "ReserveRestaurant", {**slots, **booking}))
    msgs.append(assistant(f"Your table for {size} at {name} is booked for {time} {date}. Reference: {ref}.",
                          acts=[act("NOTIFY_SUCCESS", domain=D), act("INFORM", "reference", [ref], D)]))
    msgs.append(user("Perfect, thank you!", [act("THANK_YOU", domain=D)]))
    msgs.append(assistant("Enjoy your meal!", state(D, "ReserveRestaurant", {**slots, **booking}),
                          [act("GOODBYE", domain=D)]))
    goal["intents"].append("ReserveRestaurant")
    goal["booking"] = {"party_size": size, "time": time, "date": date}
    return _wrap(i, msgs, goal)


def _wrap(i: int, msgs: list[dict], goal: dict) -> dict:
    return {"id": f"restaurant-en-{i:04d}", "messages": msgs, "tools": TOOLS, "goal": goal,
            "metadata": {"source": "dialogkit-samples", "domain": D, "language": "en", "split": "train"}}


def build(rng: random.Random) -> list[dict]:
    return [_dialog(rng, i) for i in range(1, 61)]
