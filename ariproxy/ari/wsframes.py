"""Websocket frames (RFC 6455) on an already upgraded socket: a buffered reader and a batching writer.

websocket-client does the opening handshake; after it this module owns the
socket, because the hot path (one REST request and one answer per proxied
call) pays for every system call and every Python step:

- reading takes whatever the socket has in one ``recv`` (many frames per
  call under load, instead of two or three ``recv`` calls per frame);
- writing queues masked frames and one writer greenlet sends everything
  queued in one ``sendall`` (20 concurrent requests: one system call).

``FrameSocket.read_message()`` blocks the reader greenlet; ``send_frame()``
never blocks (it writes what the socket takes at once and queues the rest);
``send_now()`` blocks until its bytes are written.
No extensions are negotiated, so RSV bits are not interpreted.
"""
import random
import socket
import struct

import gevent
from gevent.event import Event
from gevent.lock import Semaphore

__all__ = ["FrameSocket", "FrameError", "OP_CONT", "OP_TEXT", "OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG",
           "encode_frame", "send_all"]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

#: A message larger than this ends the connection (a guard against a runaway peer, not a protocol limit).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

_RECV_SIZE = 256 * 1024
_H16 = struct.Struct("!BBH")
_H64 = struct.Struct("!BBQ")
_getrandbits = random.getrandbits


def send_all(sock, data):
    """``sock.sendall(data)`` in one ``send`` when the socket takes it all (it nearly always does).

    gevent's ``sendall`` asks the kernel for the send buffer size on every
    call (one more system call) before sending.
    """
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])


class FrameError(Exception):
    """The peer broke the framing (or closed the socket mid-frame)."""


def encode_frame(opcode, payload, fin=True):
    """One masked client frame (bytes) carrying ``payload`` (bytes)."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = bytes((b0, 0x80 | n))
    elif n < 65536:
        head = _H16.pack(b0, 0x80 | 126, n)
    else:
        head = _H64.pack(b0, 0x80 | 127, n)
    # A mask from the non-cryptographic generator: masking protects browsers' proxies from
    # cache poisoning, which needs no secrecy here; os.urandom would cost a system call per frame.
    key = _getrandbits(32)
    if not n:
        return head + key.to_bytes(4, "big")
    mask = key.to_bytes(4, "big")
    repeated = mask * (n // 4 + 1)
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated[:n], "big")).to_bytes(n, "big")
    return head + mask + masked


def _unmask(mask, data):
    n = len(data)
    repeated = mask * (n // 4 + 1)
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated[:n], "big")).to_bytes(n, "big")


class FrameSocket:
    """Frames over ``sock`` (a connected, upgraded, blocking gevent socket)."""

    def __init__(self, sock, max_message=MAX_MESSAGE_BYTES):
        self.sock = sock
        self.max_message = max_message
        self._buf = bytearray()
        self._pos = 0
        self._fragments = None      # (opcode, [parts], size) of a fragmented message being read
        self._out = []
        self._wake = Event()
        self._send_lock = Semaphore()
        self.closed = False
        self.error = None           # the exception that stopped the writer, if any
        self._writer = gevent.spawn(self._write_loop)

    # -- reading --------------------------------------------------------------------------------

    def _fill(self):
        """Read more bytes (blocks); FrameError at end of stream."""
        data = self.sock.recv(_RECV_SIZE)
        if not data:
            raise FrameError("connection closed by the peer")
        self.feed(data)

    def feed(self, data):
        """Add bytes read from the socket by someone else (see ``next_message``)."""
        buf = self._buf
        if self._pos:
            if self._pos == len(buf):
                buf.clear()
            else:
                del buf[:self._pos]
            self._pos = 0
        buf += data

    @property
    def buffered(self):
        """Bytes received but not yet returned as frames (a frame cut short sits here)."""
        return len(self._buf) - self._pos

    def next_frame(self):
        """``(fin, opcode, payload bytes)`` of the next complete buffered frame, or None (never reads)."""
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail < 2:
            return None
        b0 = buf[pos]
        b1 = buf[pos + 1]
        n = b1 & 0x7F
        head = 2
        if n == 126:
            head = 4
            if avail < 4:
                return None
            n = (buf[pos + 2] << 8) | buf[pos + 3]
        elif n == 127:
            head = 10
            if avail < 10:
                return None
            n = int.from_bytes(buf[pos + 2:pos + 10], "big")
        masked = b1 & 0x80
        if masked:
            head += 4
        if avail < head:
            return None
        if n > self.max_message:
            raise FrameError("frame of %d bytes is over the %d byte limit" % (n, self.max_message))
        end = pos + head + n
        if len(buf) < end:
            return None
        payload = bytes(buf[pos + head:end])
        if masked:
            payload = _unmask(bytes(buf[pos + head - 4:pos + head]), payload)
        if end == len(buf):
            buf.clear()
            self._pos = 0
        else:
            self._pos = end
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def read_frame(self):
        """``(fin, opcode, payload bytes)`` of the next frame; blocks until it is complete."""
        while True:
            frame = self.next_frame()
            if frame is not None:
                return frame
            self._fill()

    def next_message(self):
        """``(opcode, payload)`` of the next complete buffered message or control frame, or None.

        Never reads from the socket (``feed`` gives it bytes).  Fragments are
        joined; control frames (close, ping, pong) come back as they arrive,
        also between the fragments of a message.
        """
        while True:
            frame = self.next_frame()
            if frame is None:
                return None
            fin, opcode, payload = frame
            if opcode >= OP_CLOSE:
                return opcode, payload
            if opcode == OP_CONT:
                if self._fragments is None:
                    raise FrameError("continuation frame without a message")
                first, parts, size = self._fragments
                size += len(payload)
                if size > self.max_message:
                    raise FrameError("message of over %d bytes" % self.max_message)
                parts.append(payload)
                if fin:
                    self._fragments = None
                    return first, b"".join(parts)
                self._fragments = (first, parts, size)
                continue
            if self._fragments is not None:
                raise FrameError("new message before the last one ended")
            if fin:
                return opcode, payload
            self._fragments = (opcode, [payload], len(payload))

    def read_message(self):
        """``(opcode, payload)`` of the next message or control frame (fragments joined). Blocks."""
        while True:
            message = self.next_message()
            if message is not None:
                return message
            self._fill()

    # -- writing --------------------------------------------------------------------------------

    def send_frame(self, opcode, payload, alone=False):
        """Queue one frame for the writer greenlet; never blocks.  Raises FrameError once closed.

        ``alone``: the caller knows nobody else is sending now (one request in
        flight), so there is nothing to batch with: the frame goes out at once
        from the calling greenlet, saving the hand-over to the writer (which
        still gets whatever the socket does not take at once).
        """
        if self.closed:
            raise FrameError("websocket is closed")
        frame = encode_frame(opcode, payload)
        if alone and not self._out and not self._send_lock.locked():
            try:
                sent = self.sock.send(frame, 0, 0.0)    # timeout 0: never wait here
            except BlockingIOError:
                sent = 0
            if sent == len(frame):
                return
            frame = frame[sent:]
        self._out.append(frame)
        if not self._wake.is_set():
            self._wake.set()

    def send_now(self, opcode, payload, timeout=1.0):
        """Write what is queued plus this frame before returning (blocks up to ``timeout``)."""
        if self.closed:
            raise FrameError("websocket is closed")
        with gevent.Timeout(timeout, FrameError("send timed out")):
            with self._send_lock:
                out, self._out = self._out, []
                out.append(encode_frame(opcode, payload))
                send_all(self.sock, b"".join(out))

    def _write_loop(self):
        wake = self._wake
        try:
            while not self.closed:
                wake.wait()
                wake.clear()
                if not self._out:
                    continue
                with self._send_lock:
                    out, self._out = self._out, []
                    if out:
                        send_all(self.sock, out[0] if len(out) == 1 else b"".join(out))
        except Exception as e:
            # The reader sees the dead socket too and ends the connection; say why here.
            self.error = e
            self.closed = True
            self.shutdown()

    def shutdown(self):
        """Stop writing and shut the socket (a blocked reader returns); idempotent."""
        self.closed = True
        self._out = []
        self._wake.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass
        try:
            self.sock.close()
        except Exception:
            pass
