"""JSON log lines, node/application in plain lines, systemd STATUS=/WATCHDOG=1, client.stats().

systemd is played by a unix datagram socket the test binds (what ``NOTIFY_SOCKET`` names); the
server is a real one (nats-server + simulator), and one test runs the real daemon as a process.
"""
import datetime
import io
import json
import logging
import os
import signal
import socket
import urllib.request

import pytest

import ariproxy
from ariproxy.errors import Timeout
from ariproxy.server.config import load_config
from ariproxy.server.daemon import setup_logging
from ariproxy.server.logs import JsonFormatter, LogContext
from ariproxy.server.systemd import Notifier, notify, watchdog_interval
from ariproxy.sim import Simulator
from tests.support.nats import free_port
from tests.support.secrets import ARI_PASSWORD
from tests.support.wait import wait_for
from tests.test_daemon import START, Daemon, clean_env

pytest.importorskip("prometheus_client", reason="prometheus-client (test extra)")


def parse_lines(text):
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]


def assert_well_formed(obj):
    assert set(obj) >= {"time", "level", "logger", "message", "node", "application"}, obj
    assert datetime.datetime.fromisoformat(obj["time"]).tzinfo is not None


# -- logs -------------------------------------------------------------------------------------------

@pytest.fixture
def server_log(proxy):
    """JSON lines of the ``ariproxy`` loggers while the test runs (a StringIO)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LogContext(server=proxy.server))
    logger = logging.getLogger("ariproxy")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_json_log_lines_carry_node_application_and_the_request(proxy, server_log):
    reply = proxy.send_raw(proxy.subject("data"), b"{not json")
    assert b"bad request" in reply.data
    wait_for(lambda: "bad request on" in server_log.getvalue(), 5)
    records = parse_lines(server_log.getvalue())
    for obj in records:
        assert_well_formed(obj)
        assert obj["node"] == proxy.node and obj["application"] == proxy.application
    bad = next(o for o in records if o["message"].startswith("bad request on"))
    assert bad["level"] == "INFO" and bad["logger"] == "ariproxy.server"
    assert bad["subject"] == proxy.subject("data")


def test_setup_logging_json_and_plain_files(tmp_path):
    logger = logging.getLogger("test-observability-logging")
    logger.propagate = False
    try:
        json_file = tmp_path / "json.log"
        cfg = load_config(["--no-config", "--log-file", str(json_file), "--log-format", "json",
                           "--application", "logapp", "--ari-password", ARI_PASSWORD], environ={})
        context = LogContext(application=cfg.application)
        files = setup_logging(cfg, logger=logger, context=context)
        logger.warning("before the node is known (password %s)", ARI_PASSWORD)
        context.node = "02:fc:00:00:00:42"
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("with a traceback", extra={"kind": "ChannelAnswer", "key": {"id": "c1"},
                                                         "odd": object()})
        for h in files:
            h.flush()
        first, second = parse_lines(json_file.read_text())
        assert_well_formed(first)
        assert first["application"] == "logapp" and first["node"] == "-"
        assert ARI_PASSWORD not in json_file.read_text()
        assert second["node"] == "02:fc:00:00:00:42" and second["level"] == "ERROR"
        assert second["kind"] == "ChannelAnswer" and second["key"] == {"id": "c1"}
        assert "ValueError: boom" in second["exception"] and second["odd"].startswith("<object")

        plain_file = tmp_path / "plain.log"
        cfg = load_config(["--no-config", "--log-file", str(plain_file), "--application", "logapp"], environ={})
        files = setup_logging(cfg, logger=logger, context=LogContext(application="logapp", node="n9"))
        logger.info("plain line")
        for h in files:
            h.flush()
        assert plain_file.read_text().rstrip().endswith("plain line [app=logapp node=n9]")
    finally:
        for h in list(logger.handlers):
            logger.removeHandler(h)
            h.close()


# -- systemd ----------------------------------------------------------------------------------------

@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(START)
    yield path, sock
    sock.close()


def receive_until(sock, predicate, got):
    """Append datagrams to ``got`` until one satisfies ``predicate``; return it."""
    while True:
        data = sock.recv(4096).decode()
        got.append(data)
        if predicate(data):
            return data


def test_notify_and_watchdog_interval(notify_socket):
    path, sock = notify_socket
    env = {"NOTIFY_SOCKET": path}
    assert notify("STATUS=x", env) and sock.recv(100) == b"STATUS=x"
    assert notify("READY=1", {}) is False
    assert watchdog_interval(dict(env, WATCHDOG_USEC="3000000")) == 3.0
    assert watchdog_interval(dict(env, WATCHDOG_USEC="3000000", WATCHDOG_PID="1")) is None   # not ours
    assert watchdog_interval(dict(env, WATCHDOG_USEC="3000000", WATCHDOG_PID=str(os.getpid()))) == 3.0
    assert watchdog_interval(dict(env, WATCHDOG_USEC="soon")) is None
    assert watchdog_interval({"WATCHDOG_USEC": "3000000"}) is None
    assert notify("READY=1", {"NOTIFY_SOCKET": str(path) + ".missing"}) is False


def test_status_follows_the_server_and_the_watchdog_pings(proxy, notify_socket):
    path, sock = notify_socket
    notifier = Notifier(proxy.server, environ={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"}).start()
    got = []
    try:
        receive_until(sock, lambda d: d.startswith("STATUS=serving %s as node %s" % (proxy.application, proxy.node)),
                      got)
        receive_until(sock, lambda d: d == "WATCHDOG=1", got)
        receive_until(sock, lambda d: d == "WATCHDOG=1", got)     # and again

        proxy.sim.refuse_connections()
        try:
            line = receive_until(sock, lambda d: d.startswith("STATUS=ARI down"), got)
            assert "ARI events websocket down since" in line
        finally:
            proxy.sim.accept_connections()
        receive_until(sock, lambda d: d.startswith("STATUS=serving"), got)

        proxy.nats.stop()
        line = receive_until(sock, lambda d: d.startswith("STATUS=NATS down"), got)
        assert "NATS down since" in line
        proxy.nats.start()
        receive_until(sock, lambda d: d.startswith("STATUS=serving"), got)
    finally:
        notifier.stop()
    statuses = [d for d in got if d.startswith("STATUS=")]
    assert all(a != b for a, b in zip(statuses, statuses[1:])), "a STATUS= is sent only when it changes"


# -- the client -------------------------------------------------------------------------------------

def test_client_stats(proxy):
    with ariproxy.Client(application=proxy.application, url=proxy.nats_url, timeout=0.2, retries=0) as c:
        c.asterisk.info()
        c.asterisk.info()
        sub = c.subscribe("ChannelUserevent", queue_size=2)
        proxy.bus.flush()
        c.bus.flush()
        assert proxy.sim.burst(5, app=proxy.application) == 5
        wait_for(lambda: sub.delivered == 5, 10)
        with pytest.raises(Timeout):
            c.request("ChannelData", c.key("channel", "x", node="no-such-node"))
        stats = c.stats()
    assert stats["requests"]["AsteriskInfo"] == 2 and stats["requests"]["ChannelData"] == 1
    assert stats["timeouts"] == {"ChannelData": 1}
    (entry,) = stats["subscriptions"]
    assert entry["delivered"] == 5 and entry["dropped"] == 3 and entry["pending"] == 2
    assert entry["types"] == ["ChannelUserevent"]
    assert stats["events_delivered"] == 5 and stats["events_dropped"] == 3
    assert stats["reconnects"] == 0 and stats["duplicates"] == [] and stats["events"]["events"] >= 5


# -- the daemon -------------------------------------------------------------------------------------

def test_daemon_http_json_logs_and_systemd(nats_server, notify_socket, tmp_path):
    path, sock = notify_socket
    sim = Simulator(entity_id="02:fc:00:00:00:77").start()
    port = free_port()
    d = Daemon(tmp_path, "--ari-url", sim.url, "--application", "obsapp", "--nats-url", nats_server.url,
               "--http", "127.0.0.1:%d" % port, "--log-format", "json",
               env=clean_env(NOTIFY_SOCKET=path, WATCHDOG_USEC="500000"))
    try:
        d.start()
        d.wait_log("ready: serving application obsapp")
        got = []
        receive_until(sock, lambda x: x.startswith("STATUS=serving obsapp as node 02:fc:00:00:00:77"), got)
        receive_until(sock, lambda x: x == "WATCHDOG=1", got)
        with urllib.request.urlopen("http://127.0.0.1:%d/health/ready" % port, timeout=START) as r:
            assert r.status == 200 and json.loads(r.read())["node"] == "02:fc:00:00:00:77"
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=START) as r:
            assert b'ariproxy_info{' in r.read()
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(timeout=START) == 0
        records = parse_lines(d.log())
        for obj in records:
            assert_well_formed(obj)
            assert obj["application"] == "obsapp"
        ready = next(o for o in records if "ready: serving application" in o["message"])
        assert ready["node"] == "02:fc:00:00:00:77"
    finally:
        d.cleanup()
        sim.stop()
