"""Exceptions shared by every layer (ARI transport, server, client).

One hierarchy so that a 404 is ``NotFound`` whether it came from Asterisk over
HTTP, over the events websocket, or from an ari-proxy server (Python or Go)
over NATS.
"""
import re

__all__ = [
    "AriProxyError", "ValidationError", "ProtocolError", "Timeout",
    "ARIConnectionError", "ARIAnswerCut", "ARIError", "BadRequest", "Unauthorized", "Forbidden",
    "NotFound", "Conflict", "Unprocessable", "ServerError", "NotImplementedByServer",
    "Busy", "EventGap", "EntityDestroyed", "HungUp", "error_for_status", "error_from_text", "error_text",
    "describe",
]


class AriProxyError(Exception):
    """Base of every exception ariproxy raises on purpose."""


class ValidationError(AriProxyError, ValueError):
    """A request was refused before it was sent (bad or missing parameter)."""

    def __init__(self, message, parameter=None):
        super().__init__(message)
        self.parameter = parameter


class ProtocolError(AriProxyError, ValueError):
    """Bytes that do not decode as the ari-proxy wire protocol (or a subject token that is unsafe)."""


class Timeout(AriProxyError, TimeoutError):
    """No (complete) answer within the allowed time."""


class EntityDestroyed(AriProxyError):
    """The entity a caller was waiting on ended first (ChannelDestroyed, BridgeDestroyed,
    PlaybackFinished, RecordingFinished/Failed), so what it waited for can never come.

    ``kind`` and ``id`` name the entity, ``event`` is the ending event (an ``ariproxy.protocol.Event``,
    or None when it was read earlier), ``waited_for`` the event types that were awaited.  For channels
    ``cause`` and ``cause_txt`` are the hangup cause (e.g. 17, "User busy") and ``dialstatus`` the last
    Dial status seen for it ("BUSY", "NOANSWER", ... or "").
    """

    def __init__(self, message, kind="", id="", event=None, cause=None, cause_txt="", dialstatus="",
                 waited_for=()):
        super().__init__(message)
        self.kind = kind
        self.id = id
        self.event = event
        self.cause = cause
        self.cause_txt = cause_txt
        self.dialstatus = dialstatus
        self.waited_for = tuple(waited_for)


class HungUp(EntityDestroyed):
    """A channel hung up (was destroyed) while something waited on it; ``cause``/``cause_txt`` say why."""


class ARIConnectionError(AriProxyError, ConnectionError):
    """Asterisk (or the ari-proxy server's link to it) cannot be reached."""


class ARIAnswerCut(ARIConnectionError):
    """Asterisk's answer stopped partway (the connection dropped after the status line, before the
    whole body came): the operation may well have run; the link to Asterisk may be fine."""


class ARIError(AriProxyError):
    """An error answered by Asterisk, or by an ari-proxy server on its behalf.

    ``status`` is the HTTP status when known (else None), ``message`` the text
    Asterisk (or the server) gave, ``reason`` the HTTP reason phrase.
    """

    status_code = None

    def __init__(self, message, status=None, reason=None):
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else self.status_code
        self.reason = reason

    def __str__(self):
        if self.status is not None and not str(self.message).startswith(str(self.status)):
            return "%s %s" % (self.status, self.message)
        return str(self.message)


class BadRequest(ARIError):
    status_code = 400


class Unauthorized(ARIError):
    status_code = 401


class Forbidden(ARIError):
    status_code = 403


class NotFound(ARIError):
    status_code = 404


class Conflict(ARIError):
    status_code = 409


class Unprocessable(ARIError):
    status_code = 422


class ServerError(ARIError):
    status_code = 500


class NotImplementedByServer(ARIError):
    """The ari-proxy server does not know this request kind (``Not implemented``)."""

    status_code = 501


class Busy(ARIError):
    """The ari-proxy server is at its concurrency limit and refused the request."""

    status_code = 503


class EventGap(AriProxyError):
    """Events may have been lost: the server's event stream had a hole (its ``AriProxyEventGap`` marker).

    Raised by ``Subscription.wait()`` when the marker arrives while waiting: the
    awaited event may be among the lost ones, so resynchronise (ask for the
    entity's current state).  ``event`` is the marker; ``source`` (``ari`` or
    ``nats``), ``reason``, ``events_lost`` (None when unknown) and
    ``broken_at``/``restored_at`` (ARI timestamps) come from it.
    """

    def __init__(self, event):
        body = getattr(event, "body", None) or {}
        self.event = event
        self.source = body.get("source")
        self.reason = body.get("reason")
        self.events_lost = body.get("events_lost")
        self.broken_at = body.get("broken_at")
        self.restored_at = body.get("restored_at")
        self.node = body.get("asterisk_id")
        lost = "an unknown number of" if self.events_lost is None else str(self.events_lost)
        super().__init__("events may have been lost: %s event(s) between %s and %s on node %s (%s: %s)"
                         % (lost, self.broken_at, self.restored_at, self.node, self.source, self.reason))


_BY_STATUS = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound,
    409: Conflict, 422: Unprocessable, 501: NotImplementedByServer, 503: Busy,
}


def error_for_status(status, message, reason=None):
    """The ARIError subclass instance for an HTTP status."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ARIError
    return cls(message, status=status, reason=reason)


# "Non-2XX response: 404 Not Found" is what the Go server sends for an ARI error;
# the Python server sends the same prefix followed by Asterisk's own message.
_NON_2XX = re.compile(r"Non-2XX response: (\d{3})")


def error_text(status, reason, message=None):
    """The error string an ari-proxy server puts in a response for an ARI error.

    Starts like the Go server's (``Non-2XX response: 404 Not Found``) so Go
    clients classify it the same way; Asterisk's message follows when known.
    """
    text = "Non-2XX response: %d %s" % (status, reason or "")
    text = text.rstrip()
    if message and message != reason:
        text += ": " + message
    return text


def describe(exc):
    """``Class: message``, and the exception that led to it (``__cause__``/``__context__``) when there is one:
    for logs, where a bare library exception name would hide what went wrong."""
    text = "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    inner = exc.__cause__ or exc.__context__
    if inner is not None and inner is not exc:
        text += " (from %s)" % ("%s: %s" % (type(inner).__name__, inner) if str(inner) else type(inner).__name__)
    return text


def error_from_text(text):
    """Map a server's error string to the exception a caller should see."""
    m = _NON_2XX.search(text)
    if m:
        return error_for_status(int(m.group(1)), text)
    low = text.lower()
    if low == "not implemented" or low.startswith("not implemented"):
        return NotImplementedByServer(text)
    if "not found" in low:
        return NotFound(text)
    if low.startswith("ari answer cut"):
        return ARIAnswerCut(text)
    if low.startswith("ari connection is down"):
        return ARIConnectionError(text)
    if low.startswith("busy"):
        return Busy(text)
    if low.startswith("timeout") or "timed out" in low:
        return Timeout(text)
    return ARIError(text)
