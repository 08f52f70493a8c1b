"""NATS subjects of the ari-proxy protocol (PROTOCOL.md section 1) and token validation.

``subject(prefix, cls, app, node)`` is ``prefix + cls``, then ``.app`` when
an app is given, then ``.node`` when both are (a node without an app is
ignored, exactly as the Go implementation does: such a request is a
broadcast).  App names, node ids and dialog ids become subject tokens, so
they are validated: a token containing ``.``, ``*``, ``>`` or whitespace
would let a caller address (or listen to) subjects it should not.  Tokens
are also bounded (``MAX_TOKEN_BYTES`` of UTF-8, the prefix ``MAX_PREFIX_BYTES``):
every subject stays far below nats-server's 4,096-byte control line, which
a longer PUB or SUB line breaks the connection on.
"""
import re

from ariproxy.errors import ProtocolError

from .wire import short

__all__ = [
    "DEFAULT_PREFIX", "CLASSES", "REQUEST_CLASSES", "CREATE_QUEUE_GROUP", "LISTEN_QUEUE_GROUP",
    "normalize_prefix", "validate_token", "subject", "request_subjects", "event_subject",
    "event_pattern", "dialog_subject", "dialog_pattern", "ping_subject", "announce_subject",
    "MAX_TOKEN_BYTES", "MAX_PREFIX_BYTES",
]

DEFAULT_PREFIX = "ari."

#: every subject class of the protocol
CLASSES = ("event", "dialogevent", "get", "data", "command", "create", "ping", "announce")
#: classes a server answers requests on (at all three levels)
REQUEST_CLASSES = ("get", "data", "command", "create")
#: NATS queue group of the create subjects (one server gets each create)
CREATE_QUEUE_GROUP = "ariproxy"
#: NATS queue group the Go client's Listen uses for StasisStart distribution (section 9)
LISTEN_QUEUE_GROUP = "ARIProxyStasisStartDistributorQueue"

#: longest app name, node id or dialog id (UTF-8 bytes): UUIDs, MAC addresses and names fit many times over
MAX_TOKEN_BYTES = 255
#: longest prefix (UTF-8 bytes, dots included); prefix + class + app + node stays under 1 KiB
MAX_PREFIX_BYTES = 255

# '.', '*', '>', whitespace (``\s`` of a str pattern is exactly ``str.isspace``), control characters,
# lone surrogates (JSON's "\ud800": no UTF-8 form, so no subject).
_BAD_CHAR = re.compile(r"[.*>\s\x00-\x1f\x7f\ud800-\udfff]")


def _bad_char(value):
    # One regex search: this runs on the key of every request (a Python loop per character cost ~5 us).
    m = _BAD_CHAR.search(value)
    return m.group() if m else None


def validate_token(name, value, required=True):
    """Return ``value`` if it is a safe NATS subject token, else raise ProtocolError naming ``name``.

    ``required=False`` lets empty (or None) through, returned as ``""``.
    """
    if value is None or value == "":
        if required:
            raise ProtocolError("%s must not be empty" % name)
        return ""
    if not isinstance(value, str):
        raise ProtocolError("%s must be a string, got %s" % (name, type(value).__name__))
    bad = _bad_char(value)
    if bad is not None:
        raise ProtocolError("%s %s contains %r (not allowed in a NATS subject token: '.', '*', '>', "
                            "whitespace, control characters, lone surrogates)" % (name, short(value), bad))
    # at most 4 bytes per character: only long ones need encoding to be measured
    if len(value) > MAX_TOKEN_BYTES // 4 and len(value.encode("utf-8")) > MAX_TOKEN_BYTES:
        raise ProtocolError("%s %s is too long: %d bytes, at most %d (it becomes a NATS subject token)"
                            % (name, short(value), len(value.encode("utf-8")), MAX_TOKEN_BYTES))
    return value


def normalize_prefix(prefix):
    """The prefix with exactly one trailing dot; None or "" gives ``ari.``.  Each token is validated."""
    if prefix is None or prefix == "":
        return DEFAULT_PREFIX
    if not isinstance(prefix, str):
        raise ProtocolError("prefix must be a string, got %s" % type(prefix).__name__)
    body = prefix[:-1] if prefix.endswith(".") else prefix
    for token in body.split("."):
        validate_token("prefix token", token)
    if len(body.encode("utf-8")) + 1 > MAX_PREFIX_BYTES:
        raise ProtocolError("prefix %s is too long: at most %d bytes" % (short(prefix), MAX_PREFIX_BYTES))
    return body + "."


def _prefix(prefix):
    # fast path: the common, already normal prefix
    if prefix == DEFAULT_PREFIX:
        return prefix
    return normalize_prefix(prefix)


def subject(prefix, cls, app=None, node=None):
    """``prefix + cls [+ "." + app [+ "." + node]]`` with the tokens validated."""
    if cls not in CLASSES:
        raise ProtocolError("unknown subject class %s" % short(cls))
    out = _prefix(prefix) + cls
    if app:
        out += "." + validate_token("app", app)
        if node:
            out += "." + validate_token("node", node)
    elif app is not None and not isinstance(app, str):
        raise ProtocolError("app must be a string, got %s" % type(app).__name__)
    return out


def request_subjects(prefix, cls, app, node):
    """The three subjects a server listens on for one request class: bare, app, app.node."""
    if cls not in REQUEST_CLASSES:
        raise ProtocolError("%s is not a request class" % short(cls))
    validate_token("app", app)
    validate_token("node", node)
    return [subject(prefix, cls), subject(prefix, cls, app), subject(prefix, cls, app, node)]


def event_subject(prefix, app, node):
    """Where a server publishes an event: ``ari.event.<app>.<node>``."""
    return _prefix(prefix) + "event." + validate_token("app", app) + "." + validate_token("node", node)


def event_pattern(prefix, app=None, node=None):
    """Subscription pattern for events: every event (``ari.event.>``), one app's
    (``ari.event.<app>.>``) or one app on one node (``ari.event.<app>.<node>``)."""
    base = _prefix(prefix) + "event."
    if not app:
        if node:
            return base + "*." + validate_token("node", node)
        return base + ">"
    base += validate_token("app", app)
    if node:
        return base + "." + validate_token("node", node)
    return base + ".>"


def dialog_subject(prefix, dialog):
    """Where events of a dialog's entities go: ``ari.dialogevent.<dialog>``."""
    return _prefix(prefix) + "dialogevent." + validate_token("dialog", dialog)


def dialog_pattern(prefix, dialog=None):
    """One dialog's subject, or every dialog's (``ari.dialogevent.*``) when None."""
    if not dialog:
        return _prefix(prefix) + "dialogevent.*"
    return dialog_subject(prefix, dialog)


def ping_subject(prefix=DEFAULT_PREFIX):
    return _prefix(prefix) + "ping"


def announce_subject(prefix=DEFAULT_PREFIX):
    return _prefix(prefix) + "announce"
