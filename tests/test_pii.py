"""dialogkit.pii: each kind found with its checksum rules, common numbers left alone, redaction typed."""

from __future__ import annotations

import pytest

from dialogkit.pii import cn_id_valid, find_pii, luhn_valid, mask, redact, redact_value


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("请联系 zhang.san+trip@example.com.cn 谢谢", "EMAIL", "zhang.san+trip@example.com.cn"),
        ("我的手机号是13812345678，", "PHONE", "13812345678"),
        ("mobile +86 138-1234-5678 ok", "PHONE", "+86 138-1234-5678"),
        ("电话（010）12345678", "PHONE", "（010）12345678"),
        ("call 0571-88886666 ext", "PHONE", "0571-88886666"),
        ("The phone number is 01223 356555.", "PHONE", "01223 356555"),
        ("ring +1 (415) 555-2671 now", "PHONE", "+1 (415) 555-2671"),
        ("appelez 01 23 45 67 89", "PHONE", "01 23 45 67 89"),
        ("身份证号 11010519491231002X。", "ID_CN", "11010519491231002X"),
        ("SSN 123-45-6789.", "ID_US", "123-45-6789"),
        ("card 4111 1111 1111 1111 please", "BANK_CARD", "4111 1111 1111 1111"),
        ("银行卡6222021234567894", "BANK_CARD", "6222021234567894"),
        ("server at 203.0.113.9, port 22", "IP", "203.0.113.9"),
        ("v6 2001:db8::8a2e:370:7334 here", "IP", "2001:db8::8a2e:370:7334"),
        ("call 13812345678 2 times", "PHONE", "13812345678"),
    ],
)
def test_finds_each_kind(text, kind, value):
    found = find_pii(text)
    assert [(m.kind, m.text) for m in found] == [(kind, value)]
    assert text[found[0].start : found[0].end] == value


@pytest.mark.parametrize(
    "text",
    [
        "2025-10-20 at 19:00, 预算3000元, 第2天",
        "order 8XJ2KQ1, version 3.10.4, pi 3.14159265358979",
        "11010519491231002Y is not an ID (bad checksum)",
        "card 4111 1111 1111 1112 fails Luhn",
        "6222 0212 3456 7893",  # card-shaped, bad checksum: not split into a phone either
        "loopback 127.0.0.1 and ::1 and 0.0.0.0",
        "ABC1234567890 is a product code",
        "times 12:30:45 and 08:00",
        "",
    ],
)
def test_leaves_ordinary_numbers_alone(text):
    assert find_pii(text) == []


def test_checksums():
    assert cn_id_valid("11010519491231002X") and not cn_id_valid("110105194912310021")
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


def test_redaction_and_mask():
    text = "手机13812345678，邮箱a.b@example.org，IP 8.8.8.8"
    assert redact(text) == "手机[PHONE]，邮箱[EMAIL]，IP [IP]"
    assert redact_value({"phone": "13812345678", "n": [1, "a@b.io"]}) == {"phone": "[PHONE]", "n": [1, "[EMAIL]"]}
    assert mask("13812345678") == "13*******78" and mask("abc") == "***"


def test_offsets_in_mixed_text_are_character_offsets():
    text = "第一行：你好😀\n电话 13812345678 和 13987654321"
    found = find_pii(text)
    assert [text[m.start : m.end] for m in found] == ["13812345678", "13987654321"]
