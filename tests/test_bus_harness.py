"""The nats-server test harness itself: start, restart on the same port, kill, auth, cluster routes."""
import socket

from tests.support.nats import NatsServer
from tests.support.secrets import NATS_PASSWORD, NATS_TOKEN, WRONG_PASSWORD


def _info_and_pong(port, connect=b'CONNECT {"verbose":false}\r\n'):
    """Raw protocol exchange: returns what the server says after CONNECT + PING."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"INFO ")
        s.sendall(connect + b"PING\r\n")
        return f.readline()


def test_server_starts_restarts_on_same_port_and_stops(nats_server):
    port, pid = nats_server.port, nats_server.pid
    assert nats_server.running
    assert _info_and_pong(port) == b"PONG\r\n"
    nats_server.restart()
    assert nats_server.port == port and nats_server.pid != pid
    assert _info_and_pong(port) == b"PONG\r\n"
    nats_server.kill()
    assert not nats_server.running
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        pass
    else:
        raise AssertionError("port still accepting after kill")


def test_token_auth_server(nats_factory):
    server = nats_factory(token=NATS_TOKEN)
    connect = 'CONNECT {"verbose":false,"auth_token":"%s"}\r\n'
    assert _info_and_pong(server.port, (connect % NATS_TOKEN).encode()) == b"PONG\r\n"
    assert _info_and_pong(server.port, (connect % WRONG_PASSWORD).encode()).startswith(b"-ERR")
    assert server.auth_url == "nats://%s@127.0.0.1:%d" % (NATS_TOKEN, server.port)


def test_user_password_server(nats_factory):
    server = nats_factory(user="u", password=NATS_PASSWORD)
    connect = 'CONNECT {"verbose":false,"user":"u","pass":"%s"}\r\n'
    assert _info_and_pong(server.port, (connect % NATS_PASSWORD).encode()) == b"PONG\r\n"
    assert _info_and_pong(server.port, (connect % WRONG_PASSWORD).encode()).startswith(b"-ERR")


def test_max_payload_in_info(nats_factory):
    server = nats_factory(max_payload=4096)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        assert b'"max_payload":4096' in s.makefile("rb").readline()


def test_cluster_routes_messages_between_nodes(nats_cluster):
    a, b = nats_cluster.nodes[0], nats_cluster.nodes[1]
    sub = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    pub = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    try:
        sf = sub.makefile("rb")
        pf = pub.makefile("rb")
        sf.readline(), pf.readline()
        sub.sendall(b'CONNECT {"verbose":false}\r\nSUB t.x 1\r\nPING\r\n')
        assert sf.readline() == b"PONG\r\n"
        pub.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
        assert pf.readline() == b"PONG\r\n"
        # interest propagates over the route asynchronously: publish until it arrives
        sub.settimeout(0.05)
        got = b""
        for _ in range(200):
            pub.sendall(b"PUB t.x 2\r\nhi\r\n")
            try:
                got += sub.recv(4096)
            except socket.timeout:
                continue
            if b"MSG t.x 1 2\r\nhi\r\n" in got:
                break
        assert b"MSG t.x 1 2\r\nhi\r\n" in got
    finally:
        sub.close()
        pub.close()
    assert len(set(nats_cluster.urls)) == 3


def test_server_without_start_is_not_running():
    server = NatsServer()
    assert not server.running and server.pid is None
    server.cleanup()


def test_server_dies_with_a_killed_test_process(tmp_path):
    """A test run killed hard (timeout, ^C twice) leaves no nats-server behind (Linux PDEATHSIG)."""
    import os
    import subprocess
    import sys

    import pytest

    from tests.support.wait import wait_for
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux only")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = ("from gevent import monkey; monkey.patch_all()\n"
              "import os, sys; sys.path.insert(0, %r)\n"
              "from tests.support.nats import NatsServer\n"
              "print(NatsServer().start().pid, flush=True)\n"
              "os._exit(0)\n" % repo)
    # the server's temp dir goes under tmp_path: the killed process cannot remove it
    env = dict(os.environ, TMPDIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=env)
    pid = int(out.stdout.strip())

    def gone():
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split(")")[-1].split()[0] in ("Z", "X")  # exited, not yet reaped
        except FileNotFoundError:
            return True

    wait_for(gone, timeout=10)
