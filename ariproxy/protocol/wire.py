"""JSON in and out of the wire, with every failure turned into ``ProtocolError``.

No I/O.  Decoding accepts ``bytes``, ``bytearray``, ``memoryview`` or ``str``
of at most ``MAX_MESSAGE_BYTES``; anything bigger is refused before it is
parsed (NATS itself defaults to 1 MB payloads and tops out at 64 MB, so 8 MB
leaves room for large lists while bounding the work a hostile message causes).
A 2 MB string inside a message decodes fine.
"""
from ariproxy import jsonutil
from ariproxy.errors import ProtocolError

__all__ = ["MAX_MESSAGE_BYTES", "load_json", "load_object", "dump_json", "short"]

MAX_MESSAGE_BYTES = 8 * 1024 * 1024


def short(value, limit=64):
    """A repr of ``value`` cut to ``limit`` characters, for error texts about hostile input."""
    text = repr(value)
    if len(text) > limit:
        text = text[:limit] + "...(%d chars)" % len(text)
    return text


def load_json(raw, what="message"):
    """Parse JSON bytes/str; raise ProtocolError (never anything else) when it does not parse."""
    if isinstance(raw, memoryview):
        raw = raw.tobytes()
    if not isinstance(raw, (bytes, bytearray, str)):
        raise ProtocolError("%s: expected bytes or str, got %s" % (what, type(raw).__name__))
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError("%s: %d bytes is over the %d byte limit" % (what, len(raw), MAX_MESSAGE_BYTES))
    try:
        return jsonutil.loads(raw)
    except UnicodeDecodeError as exc:
        raise ProtocolError("%s: invalid UTF-8 at byte %d" % (what, exc.start)) from None
    except RecursionError:
        raise ProtocolError("%s: JSON nested too deeply" % what) from None
    except (ValueError, TypeError) as exc:
        # JSONDecodeError is a ValueError; so is Python's int-digits limit.
        raise ProtocolError("%s: not valid JSON (%s)" % (what, str(exc)[:120])) from None


def load_object(raw, what="message"):
    """Parse JSON that must be an object (dict)."""
    obj = load_json(raw, what)
    if not isinstance(obj, dict):
        raise ProtocolError("%s: expected a JSON object, got %s" % (what, _json_type(obj)))
    return obj


def dump_json(obj, what="message"):
    """Compact UTF-8 JSON bytes; unencodable content (lone surrogates, non-JSON types) is a ProtocolError."""
    try:
        return jsonutil.dumps(obj)
    except UnicodeEncodeError:
        raise ProtocolError("%s: text that is not valid Unicode (lone surrogate)" % what) from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise ProtocolError("%s: cannot encode as JSON (%s)" % (what, str(exc)[:120])) from None


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


json_type = _json_type
