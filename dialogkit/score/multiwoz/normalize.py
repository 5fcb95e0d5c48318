"""mwzeval's normaliser: placeholders, responses, state slot names and values.

The normaliser is part of the metric (evaluation.md section 1.3): a response is lowercased,
``[slot]`` placeholders (with an optional plural ``s``/``es``/``-s``/``-es``) become one canonical
uppercase token (``[restaurant_name]`` -> ``NAME``; an unknown name -> empty string), the literal
substrings ``-s`` and ``-ly`` are deleted, and the text goes through the Moses round trip. State
slot names lose case and spaces (``arriveby`` -> ``arrive``, ``leaveat`` -> ``leave``), and values
get mwzeval's hand-written canonical forms (venue names, food typos, types, times, free -> yes).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from dialogkit.score.multiwoz.moses import moses_roundtrip

# Canonical placeholder token -> every placeholder name mwzeval maps to it.
_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "ADDRESS": ("address", "attraction_address", "hospital_address", "hotel_address", "police_address",
                "restaurant_address", "value_address"),
    "AREA": ("area", "value_area", "attraction_area", "restaurant_area", "hotel_area"),
    "TIME": ("booktime", "value_time", "time", "duration", "value_duration", "train_duration", "arriveby",
             "taxi_arriveby", "value_arrive", "arrive by", "train_arriveby", "leaveat", "value_leave",
             "leave at", "train_leaveat", "train_leave", "train_arrive", "taxi_leaveat"),
    "DAY": ("day", "value_day", "bookday", "train_day"),
    "PLACE": ("destination", "value_destination", "departure", "value_departure", "value_place",
              "train_departure", "train_destination", "taxi_destination", "taxi_departure"),
    "FOOD": ("food", "value_food", "restaurant_food"),
    "NAME": ("name", "attraction_name", "hospital_name", "hotel_name", "police_name", "restaurant_name",
             "value_name"),
    "PHONE": ("phone", "attraction_phone", "hospital_phone", "hotel_phone", "police_phone",
              "restaurant_phone", "taxi_phone", "value_phone"),
    "POST": ("postcode", "attraction_postcode", "hospital_postcode", "hotel_postcode",
             "restaurant_postcode", "value_postcode", "police_postcode"),
    "PRICE": ("price", "value_price", "entrancefee", "entrance fee", "train_price",
              "attraction_entrancefee", "pricerange", "value_pricerange", "price range",
              "restaurant_pricerange", "hotel_pricerange", "attraction_pricerange", "attraction_price"),
    "REFERENCE": ("ref", "attraction_reference", "hotel_reference", "restaurant_reference",
                  "train_reference", "value_reference", "reference"),
    "COUNT": ("stars", "value_stars", "hotel_stars", "bookstay", "value_stay", "stay", "bookpeople",
              "value_people", "people", "choice", "value_choice", "value_count", "attraction_choice",
              "hotel_choice", "restaurant_choice", "train_choice"),
    "TYPE": ("type", "taxi_type", "taxi_car", "value_type", "value_car", "car", "restaurant_type",
             "hotel_type", "attraction_type"),
    "TRAINID": ("trainid", "train_id", "value_id", "id", "train", "train_trainid"),
    "INTERNET": ("internet", "hotel_internet"),
    "PARKING": ("parking", "hotel_parking"),
    "ID": ("hospital_id", "attraction_id", "restaurant_id"),
    "DEPARTMENT": ("value_department", "department", "hospital_department"),
    "OPEN": ("openhours",),
}
PLACEHOLDER_TOKEN = {name: token for token, names in _PLACEHOLDERS.items() for name in names}
_PLACEHOLDER_RE = re.compile(r"\[([\w\s\d]+)\](es|s|-s|-es|)")

# Venue-name fixes; each applies when the slot's domain is unknown or equals the key (mwzeval never
# passes a domain, so in practice all apply, restaurant first).
_NAME_FIXES: dict[str, dict[str, str]] = {
    "restaurant": {
        "hotel du vin bistro": "hotel du vin and bistro",
        "the river bar and grill": "the river bar steakhouse and grill",
        "nando's": "nandos", "city center b and b": "city center north b and b",
        "acorn house": "acorn guest house", "caffee uno": "caffe uno", "cafe uno": "caffe uno",
        "rosa's": "rosas bed and breakfast", "restaurant called two two": "restaurant two two",
        "restaurant 2 two": "restaurant two two", "restaurant two 2": "restaurant two two",
        "restaurant 2 2": "restaurant two two", "restaurant 1 7": "restaurant one seven",
        "restaurant 17": "restaurant one seven",
    },
    "hotel": {
        "lime house": "limehouse", "cityrooms": "cityroomz", "whale of time": "whale of a time",
        "huntingdon hotel": "huntingdon marriott hotel",
        "holiday inn exlpress, cambridge": "express by holiday inn cambridge",
        "university hotel": "university arms hotel", "arbury guesthouse and lodge": "arbury lodge guesthouse",
        "bridge house": "bridge guest house", "arbury guesthouse": "arbury lodge guesthouse",
        "nandos in the city centre": "nandos city centre",
    },
    "attraction": {
        "broughton gallery": "broughton house gallery", "scudamores punt co": "scudamores punting co",
        "cambridge botanic gardens": "cambridge university botanic gardens", "the junction": "junction theatre",
        "trinity street college": "trinity college", "christ college": "christ's college",
        "christs": "christ's college", "history of science museum": "whipple museum of the history of science",
        "parkside pools": "parkside swimming pool",
        "the botanical gardens at cambridge university": "cambridge university botanic gardens",
        "cafe jello museum": "cafe jello gallery",
    },
}
_TYPE_FIXES = {"swimming pool": "swimmingpool", "mutliple sports": "multiple sports", "night club": "nightclub",
               "guest house": "guesthouse"}
_FOOD_FIXES = {
    "eriterean": "mediterranean", "brazilian": "portuguese", "sea food": "seafood", "portugese": "portuguese",
    "modern american": "north american", "americas": "north american", "intalian": "italian",
    "italain": "italian", "asian or oriental": "asian", "english": "british", "australasian": "australian",
    "gastropod": "gastropub", "brutish": "british", "bristish": "british", "europeon": "european",
}
_TIME_WORDS = {"afternoon": "13:00", "lunch": "12:00", "noon": "12:00", "mid-day": "12:00",
               "around lunch time": "12:00", "morning": "08:00", "seven o'clock tomorrow evening": "07:00",
               "three forty five p.m": "15:45", "one thirty p.m.": "13:30", "six fourty five": "06:45",
               "eight thirty": "08:30"}
_TIME_RE = re.compile(r"[0-9][0-9]:[0-9][0-9]")


def normalize_response(text: str, unknown: set[str] | None = None) -> str:
    """One response as mwzeval scores it; unknown placeholder names are added to ``unknown``."""

    def token(m: re.Match[str]) -> str:
        name = m.group(1).lower()
        tok = PLACEHOLDER_TOKEN.get(name)
        if tok is None:
            if unknown is not None:
                unknown.add(name)
            return ""
        return tok

    text = _PLACEHOLDER_RE.sub(token, text.lower())
    return moses_roundtrip(text.replace("-s", "").replace("-ly", ""))


def _canonical_name(name: str) -> str:
    name = name.strip().lower().replace(" & ", " and ").replace("&", " and ").replace(" '", "'")
    for fixes in _NAME_FIXES.values():
        if name in fixes:
            return fixes[name]
    return name


def _canonical_time(time: str) -> str:
    time = time.strip().lower()
    if time in _TIME_WORDS:
        return _TIME_WORDS[time]
    if time.startswith("one o'clock p.m"):
        return "13:00"
    if time.startswith("ten o'clock a.m"):
        return "10:00"
    if time.startswith("by"):
        time = time[3:]
    if time.startswith("after"):
        time = time[5:].strip()
    if time.startswith("afer"):
        time = time[4:].strip()
    if time.endswith("am"):
        time = time[:-2].strip()
    if time.endswith("a.m."):
        time = time[:-4].strip()
    if time.endswith("pm") or time.endswith("p.m."):
        time = time[:-2].strip() if time.endswith("pm") else time
        time = time[:-4].strip() if time.endswith("p.m.") else time
        parts = time.split(":")
        if len(parts) == 2:
            return f"{int(parts[0]) + 12}:{parts[1]}"
        if len(parts) == 1 and parts[0].isdigit():
            return f"{int(parts[0]) + 12}:00"
    return _time_digits(time)


def _time_digits(time: str) -> str:
    if not time:
        return "00:00"
    if time[-1] in ".,?":
        time = time[:-1]
    if time.isdigit() and len(time) == 4:
        return time[:2] + ":" + time[2:]
    if time.isdigit():
        return time.zfill(2) + ":00"
    if ":" in time:
        time = time.replace(" ", "")
    if len(time) == 4 and time[1] == ":":
        parts = time.split(":")
        return parts[0].zfill(2) + ":" + parts[1]
    return time


@lru_cache(maxsize=65536)
def _normalize_value_cached(slot: str, value: str) -> str:
    if slot in ("name", "destination", "departure"):
        return _canonical_name(value)
    if slot == "type":
        return _TYPE_FIXES.get(value, value)
    if slot == "food":
        food = value.strip().lower()
        return _FOOD_FIXES.get(food, food)
    if slot in ("arrive", "leave", "arriveby", "leaveat", "time"):
        return _canonical_time(value)
    return value


def normalize_value(slot: str, value: Any) -> Any:
    """mwzeval's ``normalize_state_slot_value`` (``slot`` already normalised)."""
    if slot in ("parking", "internet"):
        return "yes" if value == "free" else value
    if isinstance(value, str):
        return _normalize_value_cached(slot, value)
    if slot in ("name", "destination", "departure", "food", "arrive", "leave", "arriveby", "leaveat", "time"):
        raise TypeError(f"slot {slot!r} needs a string value, got {type(value).__name__}")
    return value


def normalize_slot(slot: str) -> str:
    slot = slot.lower().replace(" ", "")
    return {"arriveby": "arrive", "leaveat": "leave"}.get(slot, slot)


def normalize_state(state: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A copy of a ``{domain: {slot: value}}`` state with mwzeval's names and values."""
    out: dict[str, dict[str, Any]] = {}
    for domain, slots in state.items():
        new: dict[str, Any] = {}
        for slot, value in slots.items():
            name = normalize_slot(slot)
            new[name] = normalize_value(name, value)
        out[domain] = new
    return out


def time_to_minutes(text: str) -> int:
    """``HH:MM...`` -> minutes after midnight; anything else -> 0 (as mwzeval)."""
    if not _TIME_RE.match(text):
        return 0
    parts = text.split(":")
    return int(parts[0]) * 60 + int(parts[1])
