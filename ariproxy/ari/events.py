"""The ARI events websocket: one reader greenlet, ordered delivery, reconnect with backoff.

``EventStream.start()`` returns at once; a reader greenlet connects (and
reconnects after a drop, with exponential backoff), reads frames, answers
REST requests in flight on this socket (``RESTResponse``), and queues events
for a dispatcher greenlet that calls ``on_event(event)`` in arrival order.
Callbacks therefore never run on the reader: a slow ``on_event``, or one that
makes an ARI call over this very websocket, cannot stall the socket.
"""
import base64
import logging
import time
from collections import deque
from urllib.parse import urlencode

import gevent
import websocket
from gevent.event import Event as GEvent

from ariproxy import errors, jsonutil
from ariproxy.ari.client import websocket_rest_supported
from ariproxy.ari.operations import OPERATIONS
from ariproxy.ari.wsframes import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameError, FrameSocket
from ariproxy.ari.wsrest import WebSocketRequests
from ariproxy.jsonutil import mask_url
from ariproxy.protocol import Event

__all__ = ["EventStream", "decode_event"]

log = logging.getLogger("ariproxy.ari.events")

def decode_event(raw):
    """``raw`` frame bytes -> ``protocol.Event`` (``errors.ProtocolError`` if it is not one)."""
    return Event.decode(raw)


class EventStream:
    """The events websocket of one ARI application.

    Attributes for the server: ``connected`` (bool), ``connected_at``
    (``time.time()`` of the current connection, None while down),
    ``connects`` (count), ``rest_decision`` (None until this connection's
    REST transport is decided, then ``websocket`` or ``http``), ``stats``.  ``on_connect(stream)`` and
    ``on_disconnect(stream, reason)`` run on the dispatcher greenlet, in
    order with the events; ``on_disconnect`` is not called for ``close()``.
    """

    def __init__(self, ari, app, on_event, on_connect=None, on_disconnect=None, subscribe_all=False,
                 reconnect_wait=None, ping_interval=10.0, max_queue=100000, probe_timeout=1.0):
        self.ari = ari
        self.app = app
        self.on_event = on_event
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.subscribe_all = bool(subscribe_all)
        self.reconnect_wait = reconnect_wait or ari.reconnect_wait
        self.ping_interval = ping_interval
        self.max_queue = max_queue
        self.probe_timeout = probe_timeout
        query = urlencode([("app", app), ("subscribeAll", "true" if self.subscribe_all else "false")])
        self.url = ari.ws_url + "?" + query
        self.connected = False
        self.connected_at = None
        self.connects = 0
        self.stats = {"events": 0, "rest_responses": 0, "bad_frames": 0, "dropped": 0, "callback_errors": 0}
        self.ws_requests_sent = 0
        # Where REST goes while this connection lasts: None until decided, then "websocket" or "http".
        self.rest_decision = None
        self._ws = None             # the FrameSocket of the live connection
        self._ws_rest = None
        self._closed = False
        self._queue = deque()
        self._wake = GEvent()
        self._connected_event = GEvent()
        self._reader = None
        self._dispatcher = None
        self._last_rx = 0.0

    def __repr__(self):
        return "<EventStream %s app=%s %s>" % (mask_url(self.ari.ws_url), self.app,
                                               "connected" if self.connected else "down")

    # -- life cycle -----------------------------------------------------------------------------------

    def start(self):
        """Start connecting in the background; returns at once."""
        if self._reader is None:
            self._dispatcher = gevent.spawn(self._dispatch_loop)
            self._reader = gevent.spawn(self._run)
        return self

    def wait_connected(self, timeout=None):
        """Block until the websocket is connected; True if it is."""
        self._connected_event.wait(timeout)
        return self.connected

    def close(self, timeout=1.0):
        """Close the websocket and stop reconnecting; requests in flight on it fail. Blocks up to ``timeout``."""
        if self._closed:
            return
        self._closed = True
        self._drop_rest("stream closed")
        ws = self._ws
        if ws is not None:
            # Send the close frame, then shut the socket; the reader's recv ends with it.
            try:
                ws.send_now(OP_CLOSE, b"\x03\xe8", timeout=timeout)   # 1000: normal closure
            except Exception:
                pass
            ws.shutdown()
        current = gevent.getcurrent()
        for g in (self._reader,):
            if g is not None and g is not current:
                g.join(timeout)
                g.kill(block=False)
        self._wake.set()
        if self._dispatcher is not None and self._dispatcher is not current:
            self._dispatcher.join(timeout)
            self._dispatcher.kill(block=False)
        self.connected = False
        self.connected_at = None
        self.ari._stream_closed(self)

    @property
    def closed(self):
        return self._closed

    # -- reader ---------------------------------------------------------------------------------------

    def _headers(self):
        headers = []
        if self.ari.username is not None:
            token = base64.b64encode(("%s:%s" % (self.ari.username, self.ari._password)).encode("utf-8"))
            headers.append("Authorization: Basic " + token.decode("ascii"))
        return headers

    def _connect(self):
        """Open the websocket (blocks up to connect_timeout); raises on failure.

        websocket-client does the handshake (it reads the answer byte by byte,
        so nothing past it is buffered); the frames are ours (``FrameSocket``).
        """
        ws = websocket.create_connection(self.url, header=self._headers(), timeout=self.ari.connect_timeout,
                                         skip_utf8_validation=True)
        ws.settimeout(None)
        return FrameSocket(ws.sock)

    def _run(self):
        delay = self.reconnect_wait[0]
        while not self._closed:
            try:
                ws = self._connect()
            except websocket.WebSocketBadStatusException as e:
                log.warning("ARI websocket %s refused: HTTP %s%s", mask_url(self.ari.ws_url), e.status_code,
                            " (check the ARI credentials)" if e.status_code == 401 else "")
            except (OSError, websocket.WebSocketException) as e:
                log.info("ARI websocket %s unreachable: %s", mask_url(self.ari.ws_url), e.__class__.__name__)
            else:
                if self._closed:    # close() ran while we were connecting
                    ws.shutdown()
                    break
                delay = self.reconnect_wait[0]
                self._serve(ws)
                if self._closed:
                    break
            if self._closed:
                break
            gevent.sleep(delay)
            delay = min(delay * 2, self.reconnect_wait[1])

    def _serve(self, ws):
        """Read one connection until it ends (the reader greenlet)."""
        self._ws = ws
        self.connected = True
        self.connected_at = time.time()
        self.connects += 1
        self._last_rx = time.monotonic()
        log.info("ARI websocket connected (%s app=%s)", mask_url(self.ari.ws_url), self.app)
        ws_rest = None
        self.rest_decision = "http" if self.ari.rest_transport == "http" else None
        if self.ari.rest_transport != "http":
            ws_rest = WebSocketRequests(self._send_text, timeout=self.ari.timeout)
            self._ws_rest = ws_rest
        self._enqueue(("connect", None))
        self._connected_event.set()
        helpers = []
        if ws_rest is not None:
            helpers.append(gevent.spawn(self._negotiate, ws_rest))
        if self.ping_interval:
            helpers.append(gevent.spawn(self._keepalive, ws))
        reason = "closed by Asterisk"
        try:
            read_message = ws.read_message
            handle_text = self._handle_text
            while True:
                opcode, data = read_message()
                self._last_rx = time.monotonic()
                if opcode == OP_TEXT:
                    handle_text(data)
                elif opcode == OP_PING:
                    ws.send_frame(OP_PONG, data[:125])
                elif opcode == OP_CLOSE:
                    try:
                        ws.send_now(OP_CLOSE, data[:2], timeout=0.5)
                    except Exception:
                        pass
                    break
                elif opcode == OP_BINARY:
                    self.stats["bad_frames"] += 1
        except (OSError, FrameError, ValueError) as e:
            reason = "closed" if self._closed else "connection lost (%s)" % e.__class__.__name__
        except Exception as e:
            # A bug while handling a frame must not end the stream for good: reconnect instead.
            log.exception("ARI websocket reader failed")
            reason = "reader failed (%s)" % e.__class__.__name__
        finally:
            self.connected = False
            self.connected_at = None
            self._connected_event.clear()
            self._ws = None
            for g in helpers:
                g.kill(block=False)
            self._drop_rest(reason)
            ws.shutdown()
        if not self._closed:
            log.warning("ARI websocket for app %s down: %s", self.app, reason)
            self._enqueue(("disconnect", reason))

    def _send_text(self, payload, alone=False):
        ws = self._ws
        if ws is None:
            raise errors.ARIConnectionError("ARI websocket is not connected")
        ws.send_frame(OP_TEXT, payload, alone)
        self.ws_requests_sent += 1

    def _drop_rest(self, reason):
        ws_rest, self._ws_rest = self._ws_rest, None
        if ws_rest is not None:
            if self.ari._ws_rest is ws_rest:
                self.ari._set_ws_rest(None)
            ws_rest.fail_all(reason)

    def _handle_text(self, data):
        try:
            # Only frames that mention RESTResponse need a look before Event (cheap byte search first).
            if b"RESTResponse" in data:
                message = jsonutil.loads(data)
                if isinstance(message, dict) and message.get("type") == "RESTResponse":
                    self.stats["rest_responses"] += 1
                    ws_rest = self._ws_rest
                    if ws_rest is not None:
                        ws_rest.handle_response(message)
                    return
                event = Event(message, data)
            else:
                event = Event.decode(data)
        except Exception as e:
            self.stats["bad_frames"] += 1
            log.warning("ARI websocket: undecodable frame skipped (%s, %d bytes)", e.__class__.__name__, len(data))
            return
        self.stats["events"] += 1
        self._enqueue(("event", event))

    def _keepalive(self, ws):
        """Ping every ping_interval; a socket silent for three intervals is dead and gets closed."""
        while True:
            gevent.sleep(self.ping_interval)
            if time.monotonic() - self._last_rx > 3 * self.ping_interval:
                log.warning("ARI websocket silent for %.0fs: reconnecting", 3 * self.ping_interval)
                ws.shutdown()
                return
            try:
                ws.send_frame(OP_PING, b"")
            except Exception:
                return

    def _negotiate(self, ws_rest):
        """Decide whether REST goes over this websocket (``auto``: by version, else a probe)."""
        supported = True
        if self.ari.rest_transport == "auto":
            supported = None
            try:
                info = self.ari.http.send(OPERATIONS[("asterisk", "getInfo")].prepare({"only": "system"}))
                supported = websocket_rest_supported(((info or {}).get("system") or {}).get("version"))
            except errors.AriProxyError as e:
                log.info("ARI version unknown (%s); probing REST over the websocket", e.__class__.__name__)
            if supported is None:
                supported = self._probe(ws_rest)
        if ws_rest is not self._ws_rest or ws_rest.closed:
            return
        self.rest_decision = "websocket" if supported else "http"
        if supported:
            ws_rest.usable = True
            self.ari._set_ws_rest(ws_rest)
            log.info("ARI REST requests go over the events websocket")
        else:
            log.info("ARI REST requests go over HTTP (Asterisk does not take them on the websocket)")

    def _probe(self, ws_rest):
        try:
            ws_rest.send(OPERATIONS[("asterisk", "ping")].prepare({}), timeout=self.probe_timeout)
        except errors.ARIError:
            return True     # any RESTResponse, even an error, means Asterisk speaks it
        except errors.AriProxyError:
            return False
        return True

    # -- dispatcher -----------------------------------------------------------------------------------

    def _enqueue(self, item):
        if len(self._queue) >= self.max_queue and item[0] == "event":
            self.stats["dropped"] += 1
            if self.stats["dropped"] % 1000 == 1:
                log.warning("ARI event queue full (%d): %d events dropped so far", self.max_queue,
                            self.stats["dropped"])
            return
        self._queue.append(item)
        self._wake.set()

    def _dispatch_loop(self):
        queue = self._queue
        while True:
            self._wake.wait()
            self._wake.clear()
            while queue:
                kind, value = queue.popleft()
                try:
                    if kind == "event":
                        self.on_event(value)
                    elif kind == "connect":
                        if self.on_connect is not None:
                            self.on_connect(self)
                    elif self.on_disconnect is not None:
                        self.on_disconnect(self, value)
                except Exception:
                    self.stats["callback_errors"] += 1
                    log.exception("ARI %s callback failed", kind)
            if self._closed:
                return
