"""ARI REST requests over the events websocket (Asterisk 20.14+, 21.9+, 22.4+).

A request is a ``RESTRequest`` text message; Asterisk answers with a
``RESTResponse`` event carrying the same ``request_id``.  Many requests may
be in flight on one socket; each caller's greenlet waits on its own
AsyncResult, which the stream's reader greenlet fills (``send``), or the
caller does not wait at all and the reader calls it back (``start``: no
greenlet parked per request, for the server's hot path).

What Asterisk does with the fields (res/ari/ari_websocket_requests.c,
res/res_ari.c and the recordings): ``uri`` is relative (a leading ``/`` gives
405) and goes to the same router as an HTTP path, which splits it on ``/``
and percent-decodes each segment, so it carries the same escaped path as
HTTP; ``query_strings`` values are taken as they are (no decoding, unlike an
HTTP query); a ``message_body`` needs a ``content_type``; the answer's
``message_body`` is a JSON string, absent when there is no body; a file
answer is refused (406), so binary operations stay on HTTP.
"""
import itertools
import logging
import os

import gevent
from gevent.event import AsyncResult

from ariproxy import errors, jsonutil
from ariproxy.ari.http import decode_answer

__all__ = ["WebSocketRequests", "encode_rest_request", "NOT_SENT"]

log = logging.getLogger("ariproxy.ari.wsrest")

NOT_SENT = object()


def encode_rest_request(request_id, prepared):
    """The RESTRequest message (bytes) for a PreparedRequest, or None if it cannot go over the websocket."""
    uri = prepared.path.lstrip("/")
    if not uri:
        return None
    message = {"type": "RESTRequest", "request_id": request_id, "method": prepared.method, "uri": uri}
    if prepared.query:
        message["query_strings"] = [{"name": name, "value": value} for name, value in prepared.query]
    if prepared.body is not None:
        message["content_type"] = "application/json"
        message["message_body"] = jsonutil.dumps(prepared.body).decode("utf-8")
    return jsonutil.dumps(message)


class _Waiter:
    """A caller blocked in ``send``."""

    __slots__ = ("prepared", "result")

    def __init__(self, prepared):
        self.prepared = prepared
        self.result = AsyncResult()

    def resolve(self, value, exc):
        if exc is None:
            self.result.set(value)
        else:
            self.result.set_exception(exc)


class _Callback:
    """A caller of ``start``: ``on_done(value, exc)`` runs once, in the greenlet that resolves it."""

    __slots__ = ("prepared", "on_done", "timer")

    def __init__(self, prepared, on_done):
        self.prepared = prepared
        self.on_done = on_done
        self.timer = None

    def resolve(self, value, exc):
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.close()
        try:
            self.on_done(value, exc)
        except Exception:
            log.exception("websocket REST callback failed (%s %s)", self.prepared.method, self.prepared.path)


class WebSocketRequests:
    """The in-flight REST requests of one connected events websocket.

    ``send_text(bytes, alone)`` writes one text message on that websocket (it
    may raise when the socket is gone; ``alone`` says no other request is in
    flight, so there is nothing to batch it with).  ``usable`` says whether new requests
    should come here; ``fail_all`` ends every waiting caller at once.
    """

    NOT_SENT = NOT_SENT

    def __init__(self, send_text, timeout=5.0, stats=None):
        self._send_text = send_text
        self.timeout = timeout
        self._pending = {}
        self._prefix = "ariproxy-%s-" % os.urandom(4).hex()
        self._ids = itertools.count(1)
        self.usable = False
        self.closed = False
        self.stats = stats if stats is not None else {"sent": 0, "late": 0}

    @property
    def in_flight(self):
        return len(self._pending)

    def send(self, prepared, timeout=None):
        """Send one request and wait for its RESTResponse; returns like the HTTP transport.

        Returns ``NOT_SENT`` when the request could not be written (socket
        already gone, or not expressible), so the caller can use HTTP: nothing
        reached Asterisk.  Blocks up to ``timeout`` (-> ``errors.Timeout``);
        raises ``errors.ARIConnectionError`` when the websocket drops meanwhile.
        """
        if self.closed:
            return NOT_SENT
        request_id = self._prefix + str(next(self._ids))
        payload = encode_rest_request(request_id, prepared)
        if payload is None:
            return NOT_SENT
        waiter = _Waiter(prepared)
        pending = self._pending
        pending[request_id] = waiter
        try:
            # Alone in flight: write at once; else the stream's writer batches the frames.
            self._send_text(payload, len(pending) == 1)
        except Exception as e:
            self._pending.pop(request_id, None)
            log.info("websocket REST send failed (%s); using HTTP", e.__class__.__name__)
            return NOT_SENT
        self.stats["sent"] = self.stats.get("sent", 0) + 1
        wait = self.timeout if timeout is None else timeout
        try:
            answer = waiter.result.get(timeout=wait)
        except gevent.Timeout:
            raise errors.Timeout("%s %s: no answer from ARI over the websocket within %.1fs"
                                 % (prepared.method, prepared.path, wait)) from None
        finally:
            self._pending.pop(request_id, None)
        return answer

    def start(self, prepared, on_done, timeout=None):
        """Send one request without waiting; ``on_done(value, exc)`` gets the answer later. Never blocks.

        Returns False, having sent nothing, when the request cannot go this
        way (socket gone, not expressible): the caller uses another transport.
        ``on_done`` runs exactly once: from the stream's reader greenlet with
        the answer (``value``, or ``exc`` as ``send`` would raise), with
        ``errors.ARIConnectionError`` when the websocket drops, or with
        ``errors.Timeout`` (in a greenlet of its own) after ``timeout``.  It
        must not block for long: the reader waits for it.
        """
        if self.closed:
            return False
        request_id = self._prefix + str(next(self._ids))
        payload = encode_rest_request(request_id, prepared)
        if payload is None:
            return False
        entry = _Callback(prepared, on_done)
        pending = self._pending
        pending[request_id] = entry
        try:
            self._send_text(payload, len(pending) == 1)
        except Exception as e:
            pending.pop(request_id, None)
            log.info("websocket REST send failed (%s); using HTTP", e.__class__.__name__)
            return False
        self.stats["sent"] = self.stats.get("sent", 0) + 1
        wait = self.timeout if timeout is None else timeout
        if request_id in pending:       # (not answered or failed already)
            entry.timer = gevent.get_hub().loop.timer(wait)
            entry.timer.start(self._expired, request_id, wait)
        return True

    def _expired(self, request_id, wait):
        # In the hub: on_done may publish (and so block), so it gets a greenlet.
        entry = self._pending.pop(request_id, None)
        if entry is not None:
            prepared = entry.prepared
            gevent.spawn(entry.resolve, None, errors.Timeout(
                "%s %s: no answer from ARI over the websocket within %.1fs" % (prepared.method, prepared.path, wait)))

    def handle_response(self, message):
        """Deliver one decoded RESTResponse (dict) to its waiting caller (reader greenlet; never blocks)."""
        request_id = message.get("request_id")
        entry = self._pending.pop(request_id, None) if isinstance(request_id, str) else None
        if entry is None:
            self.stats["late"] = self.stats.get("late", 0) + 1
            log.debug("RESTResponse for no waiting request (%r, status %r)", request_id, message.get("status_code"))
            return False
        prepared = entry.prepared
        try:
            status = message.get("status_code")
            if not isinstance(status, int):
                raise errors.ProtocolError("RESTResponse without a status_code")
            reason = message.get("reason_phrase") or ""
            body = message.get("message_body")
            if body is not None and not isinstance(body, str):
                raise errors.ProtocolError("RESTResponse message_body is not a string")
            content_type = message.get("content_type")
            if body and (prepared.binary or (content_type and "json" not in content_type.lower())):
                body = body.encode("utf-8")     # answered as bytes, as over HTTP
            # A JSON body stays a str: the decoder takes it as it is (no encode/decode round trip).
            result = decode_answer(status, reason, content_type, body or None, prepared.binary,
                                   "%s %s" % (prepared.method, prepared.path))
        except Exception as e:
            entry.resolve(None, e)
        else:
            entry.resolve(result, None)
        return True

    def fail_all(self, reason):
        """The websocket is gone: every waiting caller gets ``ARIConnectionError`` now; no new requests."""
        self.usable = False
        self.closed = True
        pending, self._pending = self._pending, {}
        if pending:
            log.warning("ARI websocket closed with %d REST requests in flight (%s)", len(pending), reason)
        for entry in pending.values():
            prepared = entry.prepared
            entry.resolve(None, errors.ARIConnectionError(
                "%s %s: ARI websocket closed before the answer (%s)" % (prepared.method, prepared.path, reason)))
        return len(pending)
