"""ariproxy.ari.wsframes against wsproto's frame codec over a real socket pair.

The far end is wsproto's server-side FrameProtocol: it checks that our client
frames are masked and well formed, and writes the frames we read (fragments,
the three length encodings, control frames between fragments).
"""
import socket

import gevent
import pytest
from wsproto.frame_protocol import FrameProtocol, Opcode

from ariproxy.ari.wsframes import (OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, FrameError, FrameSocket,
                                   encode_frame)


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    frames = FrameSocket(ours)
    yield frames, theirs
    frames.shutdown()
    theirs.close()


def _server_frames(data):
    """Parse client frames with wsproto (raises if they are not masked client frames)."""
    proto = FrameProtocol(client=False, extensions=[])
    proto.receive_bytes(data)
    return [(f.opcode, bytes(f.payload) if isinstance(f.payload, (bytes, bytearray)) else f.payload,
             f.frame_finished) for f in proto.received_frames()]


def _recv_all(sock, size):
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    return data


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200000])
def test_frames_we_write_are_masked_client_frames(size):
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frame = encode_frame(OP_BINARY, payload)
    assert frame[1] & 0x80                       # mask bit
    assert _server_frames(frame) == [(Opcode.BINARY, payload, True)]


def test_writer_batches_queued_frames_in_order(pair):
    frames, theirs = pair
    texts = [("message %d" % i).encode() for i in range(20)]
    for t in texts:
        frames.send_frame(OP_TEXT, t)
    expected = b"".join(encode_frame(OP_TEXT, t) for t in texts)   # same sizes; masks differ
    data = _recv_all(theirs, len(expected))
    got = _server_frames(data)
    assert [g[1] for g in got] == [t.decode() for t in texts]


@pytest.mark.parametrize("size", [5, 126, 70000])
def test_reader_takes_each_length_encoding(pair, size):
    frames, theirs = pair
    server = FrameProtocol(client=False, extensions=[])
    payload = b"x" * size
    theirs.sendall(server.send_data(payload, fin=True) + server.send_data(b"next", fin=True))
    assert frames.read_message() == (OP_BINARY, payload)
    assert frames.read_message() == (OP_BINARY, b"next")


def test_fragments_are_joined_and_control_frames_pass_between_them(pair):
    frames, theirs = pair
    server = FrameProtocol(client=False, extensions=[])
    data = server.send_data("hel", fin=False) + server.ping(b"p") + server.send_data("lo", fin=True)
    # dribble it byte by byte: the reader must wait for whole frames
    for i in range(len(data)):
        theirs.sendall(data[i:i + 1])
        gevent.sleep(0)
    assert frames.read_message() == (OP_PING, b"p")
    assert frames.read_message() == (OP_TEXT, b"hello")


def test_peer_close_and_broken_framing_end_reading(pair):
    frames, theirs = pair
    theirs.sendall(bytes((0x80 | OP_CLOSE, 2)) + b"\x03\xe8")
    assert frames.read_message() == (OP_CLOSE, b"\x03\xe8")
    theirs.sendall(bytes((0x00 | OP_TEXT, 1)) + b"a" + bytes((0x80 | OP_TEXT, 1)) + b"b")
    with pytest.raises(FrameError):
        frames.read_message()        # a new message before the fragmented one ended
    theirs.close()
    with pytest.raises((FrameError, OSError)):
        frames.read_message()


def test_oversized_frame_is_refused(pair):
    frames, theirs = pair
    frames.max_message = 1000
    theirs.sendall(bytes((0x80 | OP_TEXT, 126)) + (5000).to_bytes(2, "big"))
    with pytest.raises(FrameError):
        frames.read_message()


def test_send_after_shutdown_raises(pair):
    frames, theirs = pair
    frames.shutdown()
    with pytest.raises(FrameError):
        frames.send_frame(OP_TEXT, b"late")
    with pytest.raises(FrameError):
        frames.send_now(OP_TEXT, b"late")


def test_send_all_finishes_what_one_send_leaves():
    from ariproxy.ari.wsframes import send_all
    ours, theirs = socket.socketpair()
    try:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        data = bytes(range(256)) * 8192           # 2 MB: far more than one send takes
        reader = gevent.spawn(_recv_all, theirs, len(data))
        send_all(ours, data)
        assert reader.get(timeout=10) == data
    finally:
        ours.close()
        theirs.close()


def test_a_lone_frame_the_socket_cannot_take_is_finished_by_the_writer(pair):
    frames, theirs = pair
    frames.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = b"y" * 500000
    frames.send_frame(OP_BINARY, big, alone=True)      # returns at once: the writer sends the rest
    frames.send_frame(OP_TEXT, b"after", alone=True)   # queued behind it, in order
    server = FrameProtocol(client=False, extensions=[])
    got, part = [], None
    while len(got) < 2:
        server.receive_bytes(theirs.recv(65536))
        for f in server.received_frames():     # wsproto hands big frames over in pieces
            part = (f.opcode, (part[1] if part else f.payload[:0]) + f.payload)
            if f.frame_finished:
                got.append(part)
                part = None
    assert got[0] == (Opcode.BINARY, big) and got[1] == (Opcode.TEXT, "after")
