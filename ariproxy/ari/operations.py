"""The ARI operations table and turning ``call(resource, nickname, **params)`` into a request.

Pure data and checks: nothing here blocks or does I/O.  The rows come from
``operations_table.py``, generated from Asterisk's spec by
``tools/gen_ari_operations.py``.
"""
import re
from collections import namedtuple
from urllib.parse import quote

from ariproxy.errors import ValidationError
from ariproxy.ari.operations_table import API_VERSION, OPERATION_ROWS

__all__ = ["Operation", "Param", "OPERATIONS", "API_VERSION", "PreparedRequest", "operation_for", "prepare"]

Param = namedtuple("Param", "name where required type allow_multiple allowed_values minimum maximum")

PreparedRequest = namedtuple("PreparedRequest", "method path query body binary")
PreparedRequest.__doc__ = """A request ready for a transport.

``path`` is relative to the ARI base URL, starts with ``/`` and has its path
parameters percent-escaped; ``query`` is a list of ``(name, value)`` string
pairs; ``body`` is the JSON-able body or None; ``binary`` is True when the
answer is a file (bytes), not JSON.
"""

_INTEGER = re.compile(r"^-?[0-9]+$")


class Operation(namedtuple("Operation", "resource nickname method path params response_class")):
    """One ARI REST operation: where it lives and which parameters it takes."""

    __slots__ = ()

    @property
    def name(self):
        return "%s.%s" % (self.resource, self.nickname)

    @property
    def binary(self):
        return self.response_class == "binary"

    def param(self, name):
        for p in self.params:
            if p.name == name:
                return p
        return None

    def prepare(self, params):
        """The PreparedRequest for these parameters (``ValidationError`` naming the parameter if bad)."""
        return prepare(self, params)


def _load():
    table = {}
    for resource, nickname, method, path, response_class, params in OPERATION_ROWS:
        op = Operation(resource, nickname, method, path, tuple(Param(*p) for p in params), response_class)
        table[(resource, nickname)] = op
    return table


OPERATIONS = _load()


def _path_regex(path):
    parts = re.split(r"(\{[^}]+\})", path)
    out = []
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            out.append("(?P<%s>[^/]+)" % part[1:-1])
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


# Literal paths first so that /channels/create is not taken for /channels/{channelId}.
_ROUTES = sorted(((op.method, _path_regex(op.path), op) for op in OPERATIONS.values()),
                 key=lambda r: (r[2].path.count("{"), -len(r[2].path)))


def operation_for(method, path):
    """``(Operation, {path param: raw value})`` for an HTTP method and a decoded path below ``/ari``, or None.

    ``path`` is like ``/channels/123/answer`` (no ``/ari`` prefix, no query).
    """
    if not path.startswith("/"):
        path = "/" + path
    method = method.upper()
    for route_method, regex, op in _ROUTES:
        if route_method != method:
            continue
        m = regex.match(path)
        if m:
            return op, m.groupdict()
    return None


def _short(value, limit=64):
    """repr of a (maybe hostile, huge) parameter value, cut to ``limit`` characters for error texts."""
    size = len(value) if isinstance(value, (str, bytes)) else None
    text = repr(value[:limit] if size is not None and size > limit else value)
    if size is not None and size > limit:
        return text[:limit] + "...(%d chars)" % size
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def _bad(op, name, problem):
    return ValidationError("%s: parameter %r %s" % (op.name, name, problem), parameter=name)


def _scalar(op, p, value):
    """One value as the string ARI expects, checked against the parameter's type and allowed values."""
    if p.type == "boolean":
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            text = value.lower()
        else:
            raise _bad(op, p.name, "must be a boolean, got %s" % _short(value))
    elif p.type in ("int", "long"):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise _bad(op, p.name, "must be an integer, got %s" % _short(value))
        if isinstance(value, int) and value.bit_length() > 64:
            raise _bad(op, p.name, "must be a 64-bit integer, got one of %d bits" % value.bit_length())
        text = str(value).strip()
        if not _INTEGER.match(text):
            raise _bad(op, p.name, "must be an integer, got %s" % _short(value))
        if len(text) > 20:  # (int() of thousands of digits is slow, and refused past 4,300)
            raise _bad(op, p.name, "must be a 64-bit integer, got %d digits" % len(text))
        number = int(text)
        if p.minimum is not None and number < p.minimum:
            raise _bad(op, p.name, "must be >= %s, got %d" % (p.minimum, number))
        if p.maximum is not None and number > p.maximum:
            raise _bad(op, p.name, "must be <= %s, got %d" % (p.maximum, number))
    else:
        if isinstance(value, (dict, list, tuple, set, bytes)):
            raise _bad(op, p.name, "must be a string, got %s" % type(value).__name__)
        text = value if isinstance(value, str) else str(value)
    if p.allowed_values is not None and text not in p.allowed_values:
        raise _bad(op, p.name, "must be one of %s, got %s" % ("|".join(p.allowed_values), _short(text)))
    return text


def _query_value(op, p, value):
    if p.allow_multiple:
        if isinstance(value, str):
            items = value.split(",") if p.allowed_values is not None else [value]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            items = [value]
        if not items:
            raise _bad(op, p.name, "must not be an empty list")
        return ",".join(_scalar(op, p, item) for item in items)
    if isinstance(value, (list, tuple)):
        raise _bad(op, p.name, "takes one value, got a list")
    return _scalar(op, p, value)


def _body_value(op, p, value):
    if p.type == "object":
        if not isinstance(value, dict):
            raise _bad(op, p.name, "must be an object (dict), got %s" % type(value).__name__)
        # An ``object`` body parameter is the whole JSON body (e.g. the event filter).
        return value
    # ``containers`` (variables, fields): ARI reads them from a key of the same name in the body.
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise _bad(op, p.name, "keys must be strings")
    elif not isinstance(value, (list, tuple)):
        raise _bad(op, p.name, "must be a dict or a list, got %s" % type(value).__name__)
    return {p.name: value if isinstance(value, dict) else list(value)}


def prepare(op, params):
    """Check ``params`` against ``op`` and build its PreparedRequest.

    ``None`` values count as absent.  Raises ``ValidationError`` (with
    ``.parameter``) for an unknown, missing, mistyped or disallowed parameter.
    """
    known = {p.name for p in op.params}
    for name in params:
        if name not in known:
            raise _bad(op, name, "is not a parameter of this operation (known: %s)"
                       % (", ".join(sorted(known)) or "none"))
    path = op.path
    query = []
    body = None
    for p in op.params:
        value = params.get(p.name)
        if value is None:
            if p.required:
                raise _bad(op, p.name, "is required")
            continue
        if p.where == "path":
            text = _scalar(op, p, value)
            if text == "":
                raise _bad(op, p.name, "must not be empty")
            path = path.replace("{%s}" % p.name, quote(text, safe=""))
        elif p.where == "query":
            query.append((p.name, _query_value(op, p, value)))
        else:
            part = _body_value(op, p, value)
            if body is None:
                body = part
            else:
                body.update(part)
    return PreparedRequest(op.method, path, query, body, op.binary)
