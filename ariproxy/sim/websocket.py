"""Server side of a WebSocket, run over a socket taken from gevent's pywsgi.

The opening handshake is answered by hand (pywsgi has already parsed the HTTP
request); frames from the client are parsed by wsproto.  Frames to the client
are built here: server frames are unmasked, so framing is a header in front of
pre-serialised bytes, and a writer greenlet joins everything queued into one
``sendall`` so that an event burst costs few system calls.
"""
import logging
import struct
from collections import deque

import gevent
from gevent.event import Event
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import generate_accept_token

log = logging.getLogger(__name__)

_MAX_BATCH = 256 * 1024


def handshake_response(key, extra_headers=()):
    """The ``101 Switching Protocols`` response bytes for a ``Sec-WebSocket-Key``."""
    accept = generate_accept_token(key.encode("latin-1")).decode("ascii")
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Accept: " + accept]
    lines.extend("%s: %s" % kv for kv in extra_headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def frame_text(payload):
    """One unmasked, final text frame carrying ``payload`` (UTF-8 bytes)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def frame_close(code=1000, reason=b""):
    """An unmasked close frame."""
    body = struct.pack("!H", code) + reason
    return bytes((0x88, len(body))) + body


class WebSocket:
    """One accepted websocket.

    ``on_text(ws, text)`` is called (in the reader greenlet) for each complete
    text message; ``on_close(ws)`` once when the connection ends.  ``run()``
    blocks the calling greenlet (pywsgi's handler) until then.
    """

    def __init__(self, sock, rfile, on_text=None, on_close=None, peer=None):
        self.sock = sock
        self.rfile = rfile
        self.peer = peer
        self.on_text = on_text
        self.on_close = on_close
        self.closed = False
        self.apps = []
        self._out = deque()
        self._wake = Event()
        self._done = Event()
        self._proto = Connection(ConnectionType.SERVER)
        self._writer = None
        self.sent_messages = 0

    # -- sending (never blocks: the writer greenlet does the I/O) --

    def send(self, payload):
        """Queue one text message (bytes, already JSON)."""
        if self.closed:
            return False
        self._out.append(frame_text(payload))
        self.sent_messages += 1
        self._wake.set()
        return True

    def send_framed(self, frames, count):
        """Queue frames built with ``frame_text`` (a burst)."""
        if self.closed:
            return False
        self._out.extend(frames)
        self.sent_messages += count
        self._wake.set()
        return True

    def close(self, code=1000, abrupt=False):
        """Close: with a close frame after the queued messages, or ``abrupt`` (socket shut at once)."""
        if self.closed:
            return
        if abrupt:
            self._out.clear()
            self._shutdown()
            return
        self._out.append(frame_close(code))
        self._out.append(None)  # writer: shut the socket after the close frame
        self._wake.set()

    def _shutdown(self):
        self.closed = True
        self._wake.set()
        try:
            self.sock.shutdown(2)
        except OSError:
            pass

    # -- the connection's greenlets --

    def run(self):
        """Serve until the connection ends (blocks)."""
        self._writer = gevent.spawn(self._write_loop)
        parts = []
        try:
            while not self.closed:
                try:
                    data = self.rfile.read1(65536)
                except (OSError, ValueError):
                    break
                if not data:
                    break
                self._proto.receive_data(data)
                for event in self._proto.events():
                    if isinstance(event, TextMessage):
                        parts.append(event.data)
                        if event.message_finished:
                            text = "".join(parts)
                            parts = []
                            if self.on_text is not None:
                                try:
                                    self.on_text(self, text)
                                except Exception:  # a bad message must not kill the socket
                                    log.exception("websocket message handler failed")
                    elif isinstance(event, BytesMessage):
                        pass
                    elif isinstance(event, Ping):
                        self._queue_raw(self._proto.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        try:
                            self._queue_raw(self._proto.send(event.response()))
                        except Exception:
                            pass
                        self._out.append(None)
                        self._wake.set()
                        self._done.wait(1.0)
                        return
        except Exception as exc:  # protocol errors from a misbehaving client
            log.info("websocket from %s ended: %s", self.peer, exc)
        finally:
            self._shutdown()
            if self._writer is not None:
                self._writer.join(1.0)
            if self.on_close is not None:
                try:
                    self.on_close(self)
                except Exception:
                    log.exception("websocket close handler failed")

    def _queue_raw(self, data):
        if data:
            self._out.append(data)
            self._wake.set()

    def _write_loop(self):
        out = self._out
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self.closed and not out:
                    return
                while out:
                    chunks = []
                    size = 0
                    stop = False
                    while out and size < _MAX_BATCH:
                        item = out.popleft()
                        if item is None:
                            stop = True
                            break
                        chunks.append(item)
                        size += len(item)
                    if chunks:
                        self.sock.sendall(b"".join(chunks) if len(chunks) > 1 else chunks[0])
                    if stop:
                        self._shutdown()
                        return
                if self.closed:
                    return
        except OSError:
            self._shutdown()
        finally:
            self._done.set()
