"""JSON encoding used on every wire (simplejson, compact, UTF-8) and secret masking."""
import re

import simplejson

__all__ = ["dumps", "loads", "mask_url", "JSONDecodeError"]

JSONDecodeError = simplejson.JSONDecodeError

_ENCODER = simplejson.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(obj):
    """Compact JSON as UTF-8 bytes."""
    return _ENCODER.encode(obj).encode("utf-8")


def loads(data):
    """Parse JSON from bytes or str (bytes must be UTF-8)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data).decode("utf-8")
    return simplejson.loads(data)


_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/]*)@")


def mask_url(url):
    """A URL (or comma-separated URLs) with any user/password/token replaced by ``***``."""
    if not url:
        return url

    def repl(m):
        userinfo = m.group("userinfo")
        if ":" in userinfo:
            return "%s%s:***@" % (m.group("scheme"), userinfo.split(":", 1)[0])
        return "%s***@" % m.group("scheme")

    return _USERINFO.sub(repl, str(url))
