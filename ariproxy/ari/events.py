"""The ARI events websocket: an intake that keeps up, ordered delivery, a dead socket found fast, reconnect.

Asterisk gives up a websocket whose frames it cannot write within its
``websocket_write_timeout`` (ari.conf, default 100 ms): it drops that event
and every later one, and leaves the TCP connection open without a word.  So
the one thing the intake must never do is leave the socket unread for long,
and the one thing the keepalive must do is notice such a socket at once.

Three greenlets per stream (``start()`` returns at once):

- **the reader** owns the socket's receiving side and does as little as it
  can: one ``recv`` takes whatever the kernel has (up to 256 KiB), the bytes
  are cut into frames, pings are answered, RESTResponses go to their waiting
  requests at once (a request's answer never waits behind an event burst),
  and the text of every event is appended, undecoded, to the backlog.  After
  every chunk that left work for the processor it yields, so the processor
  runs, and it is back at the socket after one batch;
- **the processor** decodes the backlog's events and calls ``on_event`` for
  each in arrival order, at most ``BATCH`` at a time, yielding between
  batches (``on_connect``, ``on_disconnect`` and ``on_gap`` run here too, in
  order with the events; callbacks never run on the reader, so one that
  makes an ARI call over this very websocket cannot stall it);
- **the keepalive** pings every ``ping_interval``; a socket that has sent
  nothing at all for ``pong_timeout`` after a ping is dead: it is logged,
  counted and shut, and the stream reconnects.  Asterisk also answers a
  ping on a socket it gave up by closing the connection, so either way a
  silently dropped socket is found within ``ping_interval + pong_timeout``.

Where a burst is buffered, and how much at most:

1. the kernel's receive buffer: raised to ``rcvbuf`` (default 4 MiB, which
   Linux doubles) when the system allows that much (root may pass
   ``net.core.rmem_max``; others only up to it); otherwise the kernel's own
   autotuning is left alone.  The kernel keeps receiving while the process
   is not scheduled at all, which no user-space reader can do;
2. the backlog: the raw text of events read but not yet processed, at most
   ``max_backlog`` bytes (default 64 MiB, about 60,000 typical events).  At
   the limit the reader stops reading until the backlog is half empty, and
   says so in the log: Asterisk will then give the socket up after its write
   timeout, which the keepalive finds once reading resumes;
3. decoded events exist only for the batch being processed (``BATCH``).

After a backlog of over ``TRIM_AFTER`` bytes has drained, the freed memory
is handed back to the operating system (glibc ``malloc_trim``), so a burst
does not leave the process at its peak size.

When a connection ends and a later one comes up, ``on_gap(stream, gap)``
gets a :class:`Gap` (when the stream broke, when it came back, why) before
any event of the new connection: events Asterisk emitted in between are
lost, and the owner can say so (the server publishes a marker event).
"""
import ctypes
import ctypes.util
import logging
import socket
import time
from collections import deque
from urllib.parse import urlencode

import gevent
import websocket
from gevent.event import Event as GEvent

from ariproxy import errors, jsonutil
from ariproxy.ari.operations import OPERATIONS
from ariproxy.ari.versions import websocket_rest_supported
from ariproxy.ari.wsframes import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameError, FrameSocket
from ariproxy.ari.wsrest import WebSocketRequests
from ariproxy.jsonutil import mask_url
from ariproxy.protocol import Event

__all__ = ["EventStream", "Gap", "decode_event", "BATCH", "DEFAULT_MAX_BACKLOG"]

log = logging.getLogger("ariproxy.ari.events")

#: events the processor handles before it lets the reader (and everything else) run again
BATCH = 256
#: the most raw event text held between the reader and the processor (bytes)
DEFAULT_MAX_BACKLOG = 64 * 1024 * 1024
#: the receive buffer asked of the kernel for the events socket (bytes)
DEFAULT_RCVBUF = 4 * 1024 * 1024
#: a backlog that reached this many bytes has its memory handed back to the system once drained
TRIM_AFTER = 8 * 1024 * 1024
_RECV_SIZE = 256 * 1024


def decode_event(raw):
    """``raw`` frame bytes -> ``protocol.Event`` (``errors.ProtocolError`` if it is not one)."""
    return Event.decode(raw)


def _load_malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):     # not glibc: nothing to hand back this way
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _load_malloc_trim()


def release_memory():
    """Hand freed heap memory back to the operating system (glibc only; a no-op elsewhere)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _rmem_max():
    try:
        with open("/proc/sys/net/core/rmem_max") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def raise_rcvbuf(sock, want):
    """Give ``sock`` a ``want``-byte receive buffer if the system allows that much; returns the size in force.

    A fixed SO_RCVBUF turns the kernel's autotuning off, so it is set only when
    ``net.core.rmem_max`` lets it reach ``want`` (a smaller cap would shrink
    what autotuning gives).
    """
    try:
        have = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    except OSError:
        return None
    if not want or have >= want:
        return have
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    if force is not None:
        try:        # past net.core.rmem_max: allowed to root (CAP_NET_ADMIN), as a daemon often runs
            sock.setsockopt(socket.SOL_SOCKET, force, want)
            return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError:
            pass
    cap = _rmem_max()
    if cap is not None and cap >= want:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, want)
            have = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError:
            pass
    return have


class Gap:
    """A break in the events stream: ``broken_at`` (``time.time()`` of the last bytes received before it),
    ``restored_at`` (when the next connection came up), ``reason``."""

    __slots__ = ("broken_at", "restored_at", "reason")

    def __init__(self, broken_at, restored_at, reason):
        self.broken_at = broken_at
        self.restored_at = restored_at
        self.reason = reason

    @property
    def seconds(self):
        return max(0.0, self.restored_at - self.broken_at)

    def __repr__(self):
        return "<Gap %.3fs: %s>" % (self.seconds, self.reason)


class EventStream:
    """The events websocket of one ARI application.

    ``owner`` is what the stream reports to and asks (an ``ARI``): it reads
    ``owner.ws_url``, ``connect_timeout``, ``timeout`` (REST over the
    websocket), ``rest_transport``, and calls ``owner.websocket_headers()``,
    ``owner.asterisk_version()`` (to decide where REST goes),
    ``owner.rest_carrier_changed(stream, carrier_or_None)`` and
    ``owner.stream_closed(stream)``.  Nothing else of the owner is used.

    Attributes: ``connected`` (bool), ``connected_at`` (``time.time()`` of the
    current connection, None while down), ``connects`` (count),
    ``rest_decision`` (None until this connection's REST transport is decided,
    then ``websocket`` or ``http``), ``rest_carrier`` (the connection's
    WebSocketRequests while it carries REST), ``stats``.  Callbacks run on the
    processor greenlet, in order with the events: ``on_event(event)``,
    ``on_connect(stream)``, ``on_disconnect(stream, reason)`` (not for
    ``close()``), ``on_gap(stream, gap)`` (after the connect of every
    connection but the first).
    """

    def __init__(self, owner, app, on_event, on_connect=None, on_disconnect=None, subscribe_all=False,
                 reconnect_wait=(0.05, 2.0), ping_interval=0.5, pong_timeout=1.0, max_backlog=DEFAULT_MAX_BACKLOG,
                 rcvbuf=DEFAULT_RCVBUF, probe_timeout=1.0, on_gap=None):
        self.owner = owner
        self.app = app
        self.on_event = on_event
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.on_gap = on_gap
        self.subscribe_all = bool(subscribe_all)
        self.reconnect_wait = reconnect_wait
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.max_backlog = int(max_backlog)
        self.rcvbuf = rcvbuf
        self.probe_timeout = probe_timeout
        query = urlencode([("app", app), ("subscribeAll", "true" if self.subscribe_all else "false")])
        self.url = owner.ws_url + "?" + query
        self.connected = False
        self.connected_at = None
        self.connects = 0
        self.stats = {"events": 0, "rest_responses": 0, "bad_frames": 0, "callback_errors": 0,
                      "disconnects": 0, "gaps": 0, "pings": 0, "pong_timeouts": 0, "cut_frames": 0,
                      "backlog_peak": 0, "backlog_full": 0, "rcvbuf": 0}
        self.ws_requests_sent = 0
        # Where REST goes while this connection lasts: None until decided, then "websocket" or "http".
        self.rest_decision = None
        self.rest_carrier = None
        self._ws = None             # the FrameSocket of the live connection
        self._closed = False
        self._queue = deque()       # the backlog: raw event text (bytes), decoded Events, ("connect"|...) items
        self._backlog = 0           # bytes of raw event text in the queue
        self._wake = GEvent()
        self._room = GEvent()       # set while the backlog has room
        self._room.set()
        self._connected_event = GEvent()
        self._reader = None
        self._processor = None
        self._last_rx = 0.0
        self._reading = True        # False while the reader waits for room in the backlog
        self._broken_at = None      # time.time() when the last connection ended (None: never connected)
        self._break_reason = None

    def __repr__(self):
        return "<EventStream %s app=%s %s>" % (mask_url(self.owner.ws_url), self.app,
                                               "connected" if self.connected else "down")

    # -- life cycle -----------------------------------------------------------------------------------

    def start(self):
        """Start connecting in the background; returns at once."""
        if self._reader is None:
            self._processor = gevent.spawn(self._process_loop)
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
        self._room.set()
        if self._reader is not None and self._reader is not current:
            self._reader.join(timeout)
            self._reader.kill(block=False)
        self._wake.set()
        if self._processor is not None and self._processor is not current:
            self._processor.join(timeout)
            self._processor.kill(block=False)
        self.connected = False
        self.connected_at = None
        self.owner.stream_closed(self)

    @property
    def closed(self):
        return self._closed

    @property
    def backlog(self):
        """Bytes of event text read from the socket and not yet processed."""
        return self._backlog

    # -- reader ---------------------------------------------------------------------------------------

    def _connect(self):
        """Open the websocket (blocks up to connect_timeout); raises on failure.

        websocket-client does the handshake (it reads the answer byte by byte,
        so nothing past it is buffered); the frames are ours (``FrameSocket``).
        """
        ws = websocket.create_connection(self.url, header=self.owner.websocket_headers(),
                                         timeout=self.owner.connect_timeout, skip_utf8_validation=True)
        ws.settimeout(None)
        self.stats["rcvbuf"] = raise_rcvbuf(ws.sock, self.rcvbuf) or 0
        return FrameSocket(ws.sock)

    def _run(self):
        delay = self.reconnect_wait[0]
        while not self._closed:
            try:
                ws = self._connect()
            except websocket.WebSocketBadStatusException as e:
                log.warning("ARI websocket %s refused: HTTP %s%s", mask_url(self.owner.ws_url), e.status_code,
                            " (check the ARI credentials)" if e.status_code == 401 else "")
            except websocket.WebSocketException as e:
                # it answered, but not as a websocket (a proxy's page, a wrong path, a broken answer): say why
                log.warning("ARI websocket %s: handshake failed: %s", mask_url(self.owner.ws_url),
                            mask_url(errors.describe(e)))
            except OSError as e:
                log.info("ARI websocket %s unreachable: %s%s", mask_url(self.owner.ws_url), e.__class__.__name__,
                         (": %s" % mask_url(str(e))) if str(e) else "")
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
        log.info("ARI websocket connected (%s app=%s)", mask_url(self.owner.ws_url), self.app)
        ws_rest = None
        self.rest_decision = "http" if self.owner.rest_transport == "http" else None
        if self.owner.rest_transport != "http":
            ws_rest = WebSocketRequests(self._send_text, timeout=self.owner.timeout)
            self.rest_carrier = ws_rest
        self._enqueue(("connect", None))
        if self._broken_at is not None:
            self._enqueue(("gap", Gap(self._broken_at, self.connected_at, self._break_reason)))
        self._connected_event.set()
        helpers = []
        if ws_rest is not None:
            helpers.append(gevent.spawn(self._negotiate, ws_rest))
        if self.ping_interval:
            helpers.append(gevent.spawn(self._keepalive, ws))
        reason = "closed by Asterisk"
        try:
            self._read_loop(ws)
        except (OSError, FrameError, ValueError) as e:
            if self._closed:
                reason = "closed"
            elif isinstance(ws.error, _Dead):
                reason = str(ws.error)
            else:
                reason = "connection lost (%s%s)" % (e.__class__.__name__, ": %s" % e if str(e) else "")
        except _Closed:
            pass
        except Exception as e:
            # A bug while handling a frame must not end the stream for good: reconnect instead.
            log.exception("ARI websocket reader failed")
            reason = "reader failed (%s)" % e.__class__.__name__
        finally:
            cut = ws.buffered
            self.connected = False
            self.connected_at = None
            self._connected_event.clear()
            self._ws = None
            for g in helpers:
                g.kill(block=False)
            self._drop_rest(reason)
            ws.shutdown()
        if cut:
            self.stats["cut_frames"] += 1
            reason += "; a frame was cut short (%d bytes): events were lost" % cut
        if not self._closed:
            self.stats["disconnects"] += 1
            # the stream was whole up to the last bytes received (what Asterisk dropped came after them)
            self._broken_at = time.time() - max(0.0, time.monotonic() - self._last_rx)
            self._break_reason = reason
            log.warning("ARI websocket for app %s down: %s", self.app, reason)
            self._enqueue(("disconnect", reason))

    def _read_loop(self, ws):
        recv = ws.sock.recv
        feed = ws.feed
        next_message = ws.next_message
        handle_text = self._handle_text
        queue = self._queue
        while True:
            if self._backlog >= self.max_backlog:
                self._wait_for_room()
            data = recv(_RECV_SIZE)
            if not data:
                raise FrameError("connection closed by Asterisk")
            self._last_rx = time.monotonic()
            feed(data)
            while True:
                message = next_message()
                if message is None:
                    break
                opcode, payload = message
                if opcode == OP_TEXT:
                    handle_text(payload)
                elif opcode == OP_PING:
                    ws.send_frame(OP_PONG, payload[:125])
                elif opcode == OP_CLOSE:
                    try:
                        ws.send_now(OP_CLOSE, payload[:2], timeout=0.5)
                    except Exception:
                        pass
                    raise _Closed()
                elif opcode == OP_BINARY:
                    self.stats["bad_frames"] += 1
            if queue:
                self._wake.set()
                # The processor has work: let it take a batch before the next recv.
                gevent.sleep(0)

    def _wait_for_room(self):
        self.stats["backlog_full"] += 1
        log.error("ARI event backlog full (%d bytes unprocessed): not reading the websocket until it is half "
                  "empty; Asterisk may give the socket up (websocket_write_timeout) and events will be lost",
                  self._backlog)
        self._reading = False
        self._room.clear()
        try:
            while self._backlog >= self.max_backlog // 2 and not self._closed:
                self._room.wait(1.0)
        finally:
            self._reading = True
            self._last_rx = time.monotonic()    # the keepalive's clock restarts with the reading
        log.warning("ARI event backlog down to %d bytes: reading the websocket again", self._backlog)

    def _send_text(self, payload, alone=False):
        ws = self._ws
        if ws is None:
            raise errors.ARIConnectionError("ARI websocket is not connected")
        ws.send_frame(OP_TEXT, payload, alone)
        self.ws_requests_sent += 1

    def _drop_rest(self, reason):
        ws_rest, self.rest_carrier = self.rest_carrier, None
        if ws_rest is not None:
            self.owner.rest_carrier_changed(self, None)
            ws_rest.fail_all(reason)

    def _handle_text(self, data):
        # Only frames that mention RESTResponse need a look now (cheap byte search first); events wait
        # in the backlog as the bytes they came as.
        if b"RESTResponse" in data:
            try:
                message = jsonutil.loads(data)
            except Exception as e:
                self.stats["bad_frames"] += 1
                log.warning("ARI websocket: undecodable frame skipped (%s, %d bytes)", e.__class__.__name__,
                            len(data))
                return
            if isinstance(message, dict) and message.get("type") == "RESTResponse":
                self.stats["rest_responses"] += 1
                ws_rest = self.rest_carrier
                if ws_rest is not None:
                    ws_rest.handle_response(message)
                return
            try:
                item = Event(message, data)
            except Exception as e:
                self.stats["bad_frames"] += 1
                log.warning("ARI websocket: frame that is no event skipped (%s)", e)
                return
        else:
            item = data
        size = len(data)
        self._backlog += size
        if self._backlog > self.stats["backlog_peak"]:
            self.stats["backlog_peak"] = self._backlog
        self._queue.append(item)

    def _keepalive(self, ws):
        """Ping every ping_interval; no byte at all within pong_timeout of a ping: the socket is dead."""
        interval = self.ping_interval
        timeout = self.pong_timeout or 3 * interval
        tick = min(interval, timeout) / 4.0
        ping_sent = None            # monotonic time of the unanswered ping, None when none is out
        last_ping = 0.0
        while True:
            gevent.sleep(tick)
            now = time.monotonic()
            if not self._reading:
                ping_sent = None    # we are not reading on purpose: nothing to conclude
                continue
            if ping_sent is not None:
                if self._last_rx >= ping_sent:
                    ping_sent = None
                elif now - ping_sent >= timeout:
                    self.stats["pong_timeouts"] += 1
                    ws.error = _Dead("nothing received within %.1fs of a ping (Asterisk stopped writing to the "
                                     "socket)" % timeout)
                    log.error("ARI websocket for app %s: %s; reconnecting", self.app, ws.error)
                    ws.shutdown()
                    return
            if ping_sent is None and now - last_ping >= interval:
                try:
                    ws.send_frame(OP_PING, b"")
                except Exception:
                    return
                self.stats["pings"] += 1
                last_ping = ping_sent = now

    def _negotiate(self, ws_rest):
        """Decide whether REST goes over this websocket (``auto``: by version, else a probe)."""
        supported = True
        if self.owner.rest_transport == "auto":
            supported = None
            try:
                supported = websocket_rest_supported(self.owner.asterisk_version())
            except errors.AriProxyError as e:
                log.info("ARI version unknown (%s); probing REST over the websocket", e.__class__.__name__)
            if supported is None:
                supported = self._probe(ws_rest)
        if ws_rest is not self.rest_carrier or ws_rest.closed:
            return
        self.rest_decision = "websocket" if supported else "http"
        if supported:
            ws_rest.usable = True
            self.owner.rest_carrier_changed(self, ws_rest)
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

    # -- processor ------------------------------------------------------------------------------------

    def _enqueue(self, item):
        self._queue.append(item)
        self._wake.set()

    def _process_loop(self):
        queue = self._queue
        decode = Event.decode
        stats = self.stats
        while True:
            self._wake.wait()
            self._wake.clear()
            peak = 0
            while queue:
                handled = 0
                freed = 0
                on_event = self.on_event
                while queue and handled < BATCH:
                    item = queue.popleft()
                    handled += 1
                    kind = type(item)
                    try:
                        if kind is bytes:
                            freed += len(item)
                            try:
                                event = decode(item)
                            except Exception as e:
                                stats["bad_frames"] += 1
                                bad = stats["bad_frames"]
                                if bad <= 10 or not bad % 1000:   # a flood of them logs a line per thousand
                                    log.warning("ARI websocket: undecodable frame skipped (%s, %d bytes; %d so far)",
                                                e.__class__.__name__, len(item), bad)
                                continue
                            stats["events"] += 1
                            on_event(event)
                        elif kind is Event:
                            freed += len(item.raw)
                            stats["events"] += 1
                            on_event(item)
                        else:
                            self._control(*item)
                    except Exception:
                        stats["callback_errors"] += 1
                        log.exception("ARI %s callback failed", "event" if kind in (bytes, Event) else item[0])
                if freed:
                    if self._backlog > peak:
                        peak = self._backlog
                    self._backlog -= freed
                    if not self._room.is_set() and self._backlog < self.max_backlog // 2:
                        self._room.set()
                if queue:
                    gevent.sleep(0)     # the reader (and requests, and NATS) run between batches
            if peak >= TRIM_AFTER and not queue:
                release_memory()
            if self._closed and not queue:
                return

    def _control(self, kind, value):
        if kind == "connect":
            if self.on_connect is not None:
                self.on_connect(self)
        elif kind == "disconnect":
            if self.on_disconnect is not None:
                self.on_disconnect(self, value)
        elif kind == "gap":
            self.stats["gaps"] += 1
            if self.on_gap is not None:
                self.on_gap(self, value)


class _Closed(Exception):
    """Asterisk sent a close frame (answered)."""


class _Dead(FrameError):
    """The keepalive found the socket dead (set as the FrameSocket's error before it is shut)."""
