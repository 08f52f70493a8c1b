"""The simulator's websocket framing, driven with hand-built frames over a real socket.

A raw TCP client does the opening handshake and then sends client frames
built here (masked unless a test says otherwise); the simulator's frames are
read back and checked byte by byte: RESTRequests answered whatever the
framing (split, fragmented, 16/64-bit lengths, many per send), pings
answered, closes echoed, and protocol errors answered with close 1002.
"""
import base64
import json
import os
import socket
import struct

import pytest

# The RFC 6455 example key and its accept token
_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


class RawClient:
    """A websocket client that speaks frames by hand on a blocking socket (5 s timeout)."""

    def __init__(self, sim, app="test"):
        self.sock = socket.create_connection((sim.host, sim.port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        auth = base64.b64encode(b"asterisk:asterisk").decode()
        self.sock.sendall(("GET /ari/events?app=%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                           "Authorization: Basic %s\r\n\r\n" % (app, sim.host, sim.port, _KEY, auth)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.handshake = head.decode("latin-1")

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the simulator closed the socket")
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        """(fin, opcode, payload) of the next server frame; server frames must be unmasked."""
        b0, b1 = self._take(2)
        assert not b1 & 0x80, "server frames are not masked"
        assert not b0 & 0x70
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._take(n)

    def read_message(self):
        """The next text message, parsed as JSON (fails on anything else)."""
        fin, opcode, payload = self.read_frame()
        assert (fin, opcode) == (True, 0x1), (fin, opcode, payload)
        return json.loads(payload)

    def at_eof(self):
        """True when the simulator has closed the socket (after whatever is still buffered)."""
        try:
            self._more()
        except (EOFError, ConnectionResetError):
            return True
        return False

    def close(self):
        self.sock.close()


def frame(opcode, payload, fin=True, masked=True, rsv=0, length_code=None):
    """A client frame; ``length_code`` forces the 16-bit (126) or 64-bit (127) length form."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | rsv | opcode
    mask_bit = 0x80 if masked else 0
    code = length_code or (n if n < 126 else 126 if n < 65536 else 127)
    if code == 126:
        head = struct.pack("!BBH", b0, mask_bit | 126, n)
    elif code == 127:
        head = struct.pack("!BBQ", b0, mask_bit | 127, n)
    else:
        head = bytes((b0, mask_bit | n))
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def rest_request(request_id, pad=0):
    msg = {"type": "RESTRequest", "transaction_id": "t", "request_id": request_id, "method": "GET",
           "uri": "asterisk/ping"}
    if pad:
        msg["pad"] = "x" * pad  # unknown keys are ignored, so this only makes the frame long
    return json.dumps(msg).encode()


@pytest.fixture
def client(sim):
    c = RawClient(sim)
    yield c
    c.close()


def _answered(client, request_id):
    msg = client.read_message()
    assert msg["type"] == "RESTResponse", msg
    assert (msg["request_id"], msg["status_code"]) == (request_id, 200), msg
    assert json.loads(msg["message_body"])["asterisk_id"] == "02:fc:00:00:00:01"
    return msg


def test_handshake_accept_token(client):
    assert client.handshake.startswith("HTTP/1.1 101 ")
    assert "Sec-WebSocket-Accept: " + _ACCEPT in client.handshake.split("\r\n")


def test_text_frame_split_over_many_sends(client):
    data = frame(0x1, rest_request("split"))
    for i in range(len(data)):  # one byte per send: the header and the payload arrive in pieces
        client.sock.sendall(data[i:i + 1])
    _answered(client, "split")
    # and in two halves, the cut inside the 4-byte mask
    data = frame(0x1, rest_request("halves"))
    client.sock.sendall(data[:4])
    client.sock.sendall(data[4:])
    _answered(client, "halves")


def test_fragmented_message_with_a_ping_between_fragments(client):
    body = rest_request("frag")
    client.sock.sendall(frame(0x1, body[:10], fin=False))
    client.sock.sendall(frame(0x0, body[10:30], fin=False))
    client.sock.sendall(frame(0x9, b"mid", fin=True))        # control frames may come between fragments
    client.sock.sendall(frame(0x0, body[30:], fin=True))
    assert client.read_frame() == (True, 0xA, b"mid")
    _answered(client, "frag")


def test_16_bit_and_64_bit_lengths(client):
    client.sock.sendall(frame(0x1, rest_request("len16", pad=1000)))
    _answered(client, "len16")
    client.sock.sendall(frame(0x1, rest_request("len64", pad=70000)))
    _answered(client, "len64")
    # a longer length form than needed is read too (senders must use the shortest; Asterisk reads any)
    client.sock.sendall(frame(0x1, rest_request("forced64"), length_code=127))
    _answered(client, "forced64")


def test_ping_answered_with_pong_carrying_its_payload(client):
    client.sock.sendall(frame(0x9, b"are you there"))
    assert client.read_frame() == (True, 0xA, b"are you there")
    client.sock.sendall(frame(0x9, b""))
    assert client.read_frame() == (True, 0xA, b"")
    client.sock.sendall(frame(0xA, b"unsolicited"))  # a pong needs no answer
    client.sock.sendall(frame(0x1, rest_request("after")))
    _answered(client, "after")


def test_binary_message_is_ignored_and_the_socket_lives_on(client):
    client.sock.sendall(frame(0x2, b"\x00\xff" * 50))
    client.sock.sendall(frame(0x1, rest_request("after-binary")))
    _answered(client, "after-binary")


def test_close_is_echoed_then_the_socket_closes(sim, client):
    client.sock.sendall(frame(0x8, struct.pack("!H", 1001) + b"bye"))
    assert client.read_frame() == (True, 0x8, struct.pack("!H", 1001))
    assert client.at_eof()


def test_close_without_a_code_gets_an_empty_close(client):
    client.sock.sendall(frame(0x8, b""))
    assert client.read_frame() == (True, 0x8, b"")
    assert client.at_eof()


@pytest.mark.parametrize("bad", [
    frame(0x1, rest_request("unmasked"), masked=False),
    frame(0x1, rest_request("rsv"), rsv=0x40),
    frame(0x9, b"p" * 126),                              # control frame over 125 bytes
    frame(0x9, b"p", fin=False),                         # fragmented control frame
    frame(0x0, b"continuation of nothing"),
    frame(0x3, b"reserved opcode"),
    frame(0x8, b"\x03"),                                 # close body of one byte
    frame(0x8, struct.pack("!H", 1005)),                 # a code that must not be sent
], ids=["unmasked", "reserved-bit", "long-control", "fragmented-control", "stray-continuation",
        "reserved-opcode", "one-byte-close", "close-1005"])
def test_protocol_errors_close_with_1002(sim, client, bad):
    # a request before the bad frame, in the same send, is still answered
    client.sock.sendall(frame(0x1, rest_request("before")) + bad)
    _answered(client, "before")
    assert client.read_frame() == (True, 0x8, struct.pack("!H", 1002))
    assert client.at_eof()


def test_new_message_inside_a_fragmented_one_is_a_protocol_error(client):
    client.sock.sendall(frame(0x1, b'{"type":', fin=False) + frame(0x1, rest_request("x")))
    assert client.read_frame() == (True, 0x8, struct.pack("!H", 1002))
    assert client.at_eof()


def test_invalid_utf8_text_closes_with_1007(client):
    client.sock.sendall(frame(0x1, b'{"type":"\xff"}'))
    assert client.read_frame() == (True, 0x8, struct.pack("!H", 1007))
    assert client.at_eof()


def test_many_frames_in_one_send_answered_in_order(sim, client):
    ids = ["m%d" % i for i in range(200)]
    client.sock.sendall(b"".join(frame(0x1, rest_request(i)) for i in ids) + frame(0x9, b"last"))
    assert [_answered(client, i)["request_id"] for i in ids] == ids
    assert client.read_frame() == (True, 0xA, b"last")
    assert [r["via"] for r in sim.requests].count("ws") == 200


def test_delayed_answers_do_not_hold_up_the_socket(sim, client):
    """With the delay fault set, requests are answered concurrently: the second needs not wait for the first."""
    sim.set_delay(60000)
    client.sock.sendall(frame(0x1, rest_request("held")))
    client.sock.sendall(frame(0x9, b"still reading"))
    assert client.read_frame() == (True, 0xA, b"still reading")
    sim.set_delay(0)
    _answered(client, "held")
    client.sock.sendall(frame(0x1, rest_request("inline")))
    _answered(client, "inline")
