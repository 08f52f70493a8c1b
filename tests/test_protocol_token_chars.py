"""The subject-token check refuses exactly the characters the protocol names ('.', '*', '>',
whitespace as ``str.isspace`` has it, control characters, lone surrogates: no UTF-8 form), one character
at a time over the BMP."""
from ariproxy.protocol.subjects import _bad_char


def _refused(ch):
    return ch in ".*>" or ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF


def test_every_bmp_character_and_some_astral_ones():
    for cp in list(range(0x10000)) + [0x1F600, 0xE0001, 0x10FFFF]:
        ch = chr(cp)
        assert (_bad_char(ch) == ch) == _refused(ch), hex(cp)
        assert _bad_char("ok" + ch + "ok") == (ch if _refused(ch) else None), hex(cp)


def test_first_bad_character_is_named():
    assert _bad_char("02:fc:00:00:00:01") is None
    assert _bad_char("a b.c") == " "
    assert _bad_char("a\u00a0b") == "\u00a0" and _bad_char("x\x7f") == "\x7f"
