"""Server side of a WebSocket, run over a socket taken from gevent's pywsgi.

The opening handshake is answered by hand (pywsgi has already parsed the HTTP
request).  Frames are parsed and built here (RFC 6455, no extensions): one
``recv`` takes everything the client has sent, and every complete frame in
the buffer is handled before the next ``recv``; client frames are unmasked
with one big-integer XOR per frame.  Server frames are unmasked, so framing
is a header in front of pre-serialised bytes, and a writer greenlet joins
everything queued into one ``send`` so that an event burst costs few system
calls.  A client that breaks the protocol (unmasked frame, reserved bits,
bad opcode, oversized or fragmented control frame, stray continuation) gets
a close frame with code 1002 and the socket is closed, as a real server does.

Asterisk's ``websocket_write_timeout`` (ari.conf, default 100 ms) is modelled
too: every frame must be handed to the socket within ``write_timeout``
seconds of the moment its write began.  When it is not (the peer does not
read and the kernel buffers are full), the frame is cut where it stopped,
the socket is marked closed for writing for good (``write_failed``), every
frame queued then or later is dropped and counted (``dropped_frames``), and
a warning is logged as Asterisk logs ``Problem occurred during websocket
write ..., websocket closed``.  Nothing is sent to the peer: no close frame,
no FIN.  The TCP connection stays open until the peer next sends something,
which is when Asterisk notices and closes it (``run`` then shuts the socket).
``silence()`` puts a socket in that state at once.
"""
import base64
import hashlib
import logging
import struct
import time
from collections import deque

import gevent
from gevent.event import Event
from gevent.socket import wait_write

log = logging.getLogger(__name__)

_MAX_BATCH = 256 * 1024
_RECV_SIZE = 256 * 1024
#: A message larger than this ends the connection with 1009 (a guard against a runaway client).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: Asterisk's default ``websocket_write_timeout`` (ari.conf [general]), in seconds.
DEFAULT_WRITE_TIMEOUT = 0.1

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def handshake_response(key, extra_headers=()):
    """The ``101 Switching Protocols`` response bytes for a ``Sec-WebSocket-Key``."""
    accept = base64.b64encode(hashlib.sha1(key.encode("latin-1") + _WS_GUID).digest()).decode("ascii")
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
    """An unmasked close frame (``code`` None: one without a status code)."""
    body = b"" if code is None else struct.pack("!H", code) + reason
    return bytes((0x88, len(body))) + body


def unmask(mask, data):
    """``data`` XOR the 4-byte ``mask`` repeated (one big-integer XOR, no per-byte loop)."""
    n = len(data)
    if not n:
        return b""
    return (int.from_bytes(data, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")


class ProtocolError(Exception):
    """The client broke the framing; ``code`` is the close code to answer with."""

    def __init__(self, message, code=1002):
        super().__init__(message)
        self.code = code


class WebSocket:
    """One accepted websocket.

    ``on_text(ws, text)`` is called (in the reader greenlet) for each complete
    text message; ``on_close(ws)`` once when the connection ends.  ``run()``
    blocks the calling greenlet (pywsgi's handler) until then.  Binary
    messages and pongs are read and ignored; pings are answered with pongs.
    """

    def __init__(self, sock, rfile, on_text=None, on_close=None, peer=None, write_timeout=DEFAULT_WRITE_TIMEOUT):
        """``write_timeout``: seconds each frame may take to reach the socket (None or 0: no limit)."""
        self.sock = sock
        self.write_timeout = write_timeout or None
        # Asterisk's state after a write timeout: nothing more is sent, the TCP connection stays open
        self.write_failed = False
        self.dropped_frames = 0
        # after a write failure: close when the peer next sends (Asterisk), or read and ignore it (a hung peer)
        self.close_on_read = True
        self.rfile = rfile
        self.peer = peer
        self.on_text = on_text
        self.on_close = on_close
        self.closed = False
        self.apps = []
        self._out = deque()
        self._wake = Event()
        self._done = Event()
        self._writer = None
        self._writing = False
        # True while the reader handles a batch of frames: messages queued meanwhile are flushed by the
        # reader right after it, so waking the writer for them would only cost a greenlet switch
        self._batching = False
        self.sent_messages = 0
        # a fragmented message being put together: its opcode and parts
        self._msg_op = None
        self._msg_parts = []
        self._msg_size = 0

    # -- sending (never blocks: the writer greenlet does the I/O) --

    def send(self, payload):
        """Queue one text message (bytes, already JSON); False (dropped) once the socket is closed."""
        if self.closed or self.write_failed:
            if self.write_failed:
                self.dropped_frames += 1
            return False
        self._out.append(frame_text(payload))
        self.sent_messages += 1
        if not self._batching:
            self._wake.set()
        return True

    def send_framed(self, frames, count):
        """Queue frames built with ``frame_text`` (a burst)."""
        if self.closed or self.write_failed:
            if self.write_failed:
                self.dropped_frames += count
            return False
        self._out.extend(frames)
        self.sent_messages += count
        if not self._batching:
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

    def silence(self, reason="told to"):
        """Enter the state a write timeout leaves: drop what is queued and everything later, send nothing
        more (no close frame), keep the TCP connection open until the peer next sends a frame."""
        if self.write_failed or self.closed:
            return
        self.write_failed = True
        dropped = sum(1 for item in self._out if item is not None)
        self._out.clear()
        self.dropped_frames += dropped
        log.warning("Problem occurred during websocket write to %s, websocket closed (%s; %d queued frame(s) "
                    "dropped, later ones dropped too)", self.peer, reason, dropped)

    def _shutdown(self):
        self.closed = True
        self._wake.set()
        try:
            self.sock.shutdown(2)
        except OSError:
            pass

    def _queue_raw(self, data):
        if self.write_failed:
            self.dropped_frames += 1
            return
        self._out.append(data)
        if not self._batching:
            self._wake.set()

    def _finish(self, last_frame):
        """Queue ``last_frame`` (a close), have the writer shut the socket after it, wait a little for that."""
        if self.write_failed:
            self._shutdown()
            return
        self._out.append(last_frame)
        self._out.append(None)
        self._wake.set()
        self._done.wait(1.0)

    # -- the connection's greenlets --

    def run(self):
        """Serve until the connection ends (blocks)."""
        self._writer = gevent.spawn(self._write_loop)
        recv = self.sock.recv
        try:
            # pywsgi's reader may hold bytes the client sent right after the handshake: take those first
            data = self.rfile.read1(_RECV_SIZE)
            buf = b""
            while data and not self.closed:
                if self.write_failed:
                    if not self.close_on_read:      # a hung Asterisk: reads, never answers
                        data = recv(_RECV_SIZE)
                        continue
                    # Asterisk notices the socket it marked closed when it next reads from it
                    log.info("websocket to %s: closing the connection write-closed earlier (%d frame(s) dropped)",
                             self.peer, self.dropped_frames)
                    break
                if buf:
                    if type(buf) is bytes:
                        buf = bytearray(buf)  # a long frame in many pieces: grow in place, not quadratically
                    buf += data
                else:
                    buf = data
                self._batching = True
                try:
                    buf = self._handle_frames(buf)
                finally:
                    self._batching = False
                if buf is None or self.closed:
                    break
                if self._out:
                    if self._writing:
                        self._wake.set()  # the writer sends it after its current batch
                    else:
                        self._flush()
                data = recv(_RECV_SIZE)
        except ProtocolError as exc:
            log.info("websocket from %s: protocol error (%s), closing with %d", self.peer, exc, exc.code)
            self._finish(frame_close(exc.code))
        except (OSError, ValueError) as exc:
            log.debug("websocket from %s ended: %s", self.peer, exc)
        finally:
            self._shutdown()
            if self._writer is not None:
                self._writer.join(1.0)
            if self.on_close is not None:
                try:
                    self.on_close(self)
                except Exception:
                    log.exception("websocket close handler failed")

    def _handle_frames(self, buf):
        """Handle every complete frame in ``buf``; returns the unparsed rest, None once a close was answered.

        Raises ProtocolError when the client broke the framing.
        """
        pos = 0
        end_of_data = len(buf)
        while end_of_data - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            if b0 & 0x70:
                raise ProtocolError("reserved bits set")
            if not b1 & 0x80:
                raise ProtocolError("unmasked client frame")
            length = b1 & 0x7F
            start = pos + 6
            if length == 126:
                start = pos + 8
                if end_of_data < start:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
            elif length == 127:
                start = pos + 14
                if end_of_data < start:
                    break
                length = int.from_bytes(buf[pos + 2:pos + 10], "big")
                if length >> 63:
                    raise ProtocolError("64-bit length with the top bit set")
            # (a length in a longer form than needed is accepted, as Asterisk does)
            opcode = b0 & 0x0F
            if opcode >= 8:
                if length > 125:
                    raise ProtocolError("control frame longer than 125 bytes")
                if not b0 & 0x80:
                    raise ProtocolError("fragmented control frame")
            if length + self._msg_size > MAX_MESSAGE_BYTES:
                raise ProtocolError("message larger than %d bytes" % MAX_MESSAGE_BYTES, 1009)
            end = start + length
            if end_of_data < end:
                break
            payload = unmask(bytes(buf[start - 4:start]), buf[start:end])
            pos = end
            if not self._on_frame(opcode, b0 & 0x80, payload):
                return None
        if pos == 0:
            return buf
        if pos == end_of_data:
            return b""
        return bytearray(buf[pos:])

    def _on_frame(self, opcode, fin, payload):
        """Handle one unmasked frame; False when the connection is over (close answered)."""
        if opcode == OP_TEXT or opcode == OP_BINARY:
            if self._msg_op is not None:
                raise ProtocolError("new message before the last one's final fragment")
            if not fin:
                self._msg_op = opcode
                self._msg_parts = [payload]
                self._msg_size = len(payload)
                return True
            if opcode == OP_TEXT:
                self._deliver(payload)
        elif opcode == OP_CONT:
            if self._msg_op is None:
                raise ProtocolError("continuation frame without a message")
            self._msg_parts.append(payload)
            self._msg_size += len(payload)
            if fin:
                op, parts = self._msg_op, self._msg_parts
                self._msg_op, self._msg_parts, self._msg_size = None, [], 0
                if op == OP_TEXT:
                    self._deliver(b"".join(parts))
        elif opcode == OP_PING:
            self._queue_raw(bytes((0x8A, len(payload))) + payload)
        elif opcode == OP_PONG:
            pass
        elif opcode == OP_CLOSE:
            if len(payload) == 1:
                raise ProtocolError("close frame with a 1-byte body")
            code = int.from_bytes(payload[:2], "big") if payload else None
            if code is not None and (code < 1000 or code in (1004, 1005, 1006, 1015) or 1011 < code < 3000
                                     or code >= 5000):
                raise ProtocolError("close code %d is not allowed on the wire" % code)
            # echo the client's code, as servers commonly do
            self._finish(frame_close(code))
            return False
        else:
            raise ProtocolError("unknown opcode %d" % opcode)
        return True

    def _deliver(self, payload):
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("text message is not UTF-8", 1007)
        if self.on_text is not None:
            try:
                self.on_text(self, text)
            except Exception:  # a bad message must not kill the socket
                log.exception("websocket message handler failed")

    def _flush(self):
        """Send what is queued from the reader greenlet (no greenlet hop to the writer); never blocks.

        Only while the writer is idle; what the socket does not take at once is left to the writer.
        """
        out = self._out
        chunks = []
        while out:
            item = out.popleft()
            if item is None:
                out.appendleft(None)
                break
            chunks.append(item)
        if not chunks:
            return
        data = b"".join(chunks) if len(chunks) > 1 else chunks[0]
        try:
            sent = self.sock.send(data, 0, 0.0)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._shutdown()
            return
        if sent < len(data):
            out.appendleft(data[sent:])
            self._wake.set()

    def _write_loop(self):
        out = self._out
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self.closed and not out:
                    return
                while out and not self.write_failed:
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
                        self._writing = True
                        try:
                            self._write(chunks)
                        finally:
                            self._writing = False
                    if stop:
                        self._shutdown()
                        return
                if self.closed:
                    return
        except OSError:
            self._shutdown()
        finally:
            self._done.set()

    def _write(self, chunks):
        """Hand ``chunks`` (each a frame, or the rest of one) to the socket, each within the write timeout.

        A frame whose time runs out is cut where the socket stopped taking it and
        the socket becomes write-closed (``silence``), as Asterisk's does.
        """
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        sock = self.sock
        timeout = self.write_timeout
        if timeout is None:
            sock.sendall(data)
            return
        total = len(data)
        sent = 0
        ends = []
        end = 0
        for chunk in chunks:
            end += len(chunk)
            ends.append(end)
        current = 0                     # index of the frame being written
        began = time.monotonic()        # when its write began
        view = memoryview(data)
        while sent < total:
            try:
                n = sock.send(view[sent:], 0, 0.0)
            except BlockingIOError:
                n = 0
            if n:
                sent += n
                if sent >= ends[current]:
                    while current < len(ends) and sent >= ends[current]:
                        current += 1
                    began = time.monotonic()
                if sent < total:
                    continue
                return
            remaining = began + timeout - time.monotonic()
            if remaining > 0:
                try:
                    wait_write(sock.fileno(), timeout=remaining)
                    continue
                except OSError:     # socket.timeout: the peer did not make room in time
                    pass
            # (frames of this batch after the cut one are dropped too)
            self.dropped_frames += len(ends) - current
            self.silence("write timeout of %d ms" % (timeout * 1000))
            return
