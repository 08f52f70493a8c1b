"""JSON encoding used on every wire (simplejson, compact, UTF-8) and secret masking."""
import re
import sys

import simplejson

__all__ = ["dumps", "loads", "mask_url", "JSONDecodeError"]

JSONDecodeError = simplejson.JSONDecodeError

_ENCODER = simplejson.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(obj):
    """Compact JSON as UTF-8 bytes."""
    return _ENCODER.encode(obj).encode("utf-8")


def loads(data):
    """Parse JSON from bytes or str (bytes must be UTF-8).

    Raises ValueError (JSONDecodeError, or for an integer of more digits than Python converts: 4,300).
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data).decode("utf-8")
    try:
        return simplejson.loads(data)
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            # say what is wrong with the input, not how to raise the interpreter's limit
            raise ValueError("a JSON integer has more than %d digits" % sys.get_int_max_str_digits()) from None
        raise


# A URL's scheme as typed, mistyped forms included (``nats:/``, ``nats:``): what comes after it, up to
# the last '@' of the URL, is the userinfo.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/*")
# what may stand before a URL inside a message: quotes, brackets
_LEAD = "'\"([{<"


def _mask_one(url):
    at = url.rfind("@")
    if at < 0:
        return url
    start = len(url) - len(url.lstrip(_LEAD))
    m = _SCHEME.match(url, start, at)
    head_end = m.end() if m else start
    userinfo = url[head_end:at]
    user, colon, _ = userinfo.partition(":")
    masked = "%s:***" % user if colon else "***"
    return url[:head_end] + masked + url[at:]


def _mask_word(word):
    if "@" not in word:
        return word
    # comma-separated URLs; a piece with an '@' and no scheme continues the one before (a password
    # with a comma in it), so it is masked with it rather than half shown
    urls = []
    for piece in word.split(","):
        if urls and "@" in piece and not _SCHEME.match(piece.lstrip(_LEAD)):
            urls[-1] += "," + piece
        else:
            urls.append(piece)
    return ",".join(_mask_one(url) for url in urls)


def mask_url(url):
    """``url`` (a URL, comma-separated URLs, or any text holding URLs) with every userinfo masked.

    Whatever stands between a URL's scheme (``nats://``, also mistyped as
    ``nats:/`` or ``nats:``) and its LAST ``@`` is userinfo: ``user:pass`` gives
    ``user:***``, a token ``***``; a password holding ``@``, ``:`` or ``,`` is
    masked whole.  Words without ``@`` are left alone.
    """
    if not url:
        return url
    return re.sub(r"\S+", lambda m: _mask_word(m.group()), str(url))
