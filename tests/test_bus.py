"""ariproxy.bus against a real nats-server: messaging, request/reply, limits, errors, drain."""
import logging

import gevent
import gevent.event
import pytest

from ariproxy import errors
from ariproxy.bus import (AuthorizationFailed, Bus, BusClosed, BusError, ConnectFailed, InvalidSubject,
                          NotConnected, PayloadTooLarge, RequestTimeout, ServerError)
from tests.support.secrets import NATS_PASSWORD, NATS_TOKEN, WRONG_PASSWORD
from tests.support.wait import wait_for


@pytest.fixture
def make_bus():
    """``make_bus(url, **kwargs)`` -> connected Bus; all closed at teardown."""
    buses = []

    def make(url, connect=True, **kwargs):
        kwargs.setdefault("reconnect_wait", (0.01, 0.1))
        bus = Bus(url, **kwargs)
        buses.append(bus)
        if connect:
            bus.connect()
        return bus

    yield make
    for bus in buses:
        bus.close()


def echo_responder(bus, subject="echo", queue=None):
    sub = bus.subscribe(subject, lambda msg: msg.respond(msg.data), queue=queue)
    bus.flush()
    return sub


def test_publish_subscribe_and_stats(nats_url, make_bus):
    bus = make_bus(nats_url)
    got = []
    bus.subscribe("greet.*", got.append)
    bus.flush()
    bus.publish("greet.a", b"one")
    bus.publish("greet.b", "two")  # str is sent as UTF-8
    wait_for(lambda: len(got) == 2)
    assert [(m.subject, m.data, m.reply) for m in got] == [("greet.a", b"one", None), ("greet.b", b"two", None)]
    stats = bus.stats
    assert stats["in_msgs"] == 2 and stats["out_msgs"] == 2 and stats["in_bytes"] == 6
    assert bus.state == "connected" and bus.connected and bus.connected_url == nats_url


def test_request_reply_and_timeout(nats_url, make_bus):
    responder = make_bus(nats_url, name="responder")
    echo_responder(responder)
    client = make_bus(nats_url)
    reply = client.request("echo", b"ping", timeout=2)
    assert reply.data == b"ping"
    with pytest.raises(RequestTimeout) as info:
        client.request("nobody.listens", b"x", timeout=0.05)
    assert isinstance(info.value, errors.Timeout)
    assert client.stats["requests_in_flight"] == 0


def test_hundred_greenlets_hundred_requests_each_all_matched(nats_url, make_bus):
    responder = make_bus(nats_url, name="responder")
    echo_responder(responder)
    client = make_bus(nats_url)
    mismatched = []

    def worker(g):
        for i in range(100):
            payload = b"%d:%d" % (g, i)
            if client.request("echo", payload, timeout=10).data != payload:
                mismatched.append(payload)
        return g

    workers = [gevent.spawn(worker, g) for g in range(100)]
    gevent.joinall(workers, timeout=60, raise_error=True)
    assert [w.value for w in workers] == list(range(100))
    assert mismatched == []
    assert client.stats["in_msgs"] == 10000 and client.stats["requests_in_flight"] == 0


def test_requests_share_one_inbox_subscription(nats_factory, make_bus):
    server = nats_factory(monitor_port=__import__("tests.support.nats", fromlist=["free_port"]).free_port())
    responder = make_bus(server.url, name="responder")
    echo_responder(responder)
    client = make_bus(server.url, name="counted")
    for i in range(20):
        client.request("echo", b"%d" % i)
    conns = server.monitor("connz?subs=1")["connections"]
    subs = [c.get("subscriptions_list", []) for c in conns if c.get("name") == "counted"][0]
    assert len(subs) == 1 and subs[0].startswith("_INBOX.") and subs[0].endswith(".*")


def test_gather_collects_until_max_or_timeout(nats_url, make_bus):
    responders = [make_bus(nats_url, name="r%d" % i) for i in range(3)]
    for i, r in enumerate(responders):
        r.subscribe("who", lambda msg, i=i: msg.respond(b"r%d" % i))
        r.flush()
    client = make_bus(nats_url)
    msgs = client.gather("who", b"", timeout=5, max_replies=3)
    assert sorted(m.data for m in msgs) == [b"r0", b"r1", b"r2"]
    # no max: runs to the timeout and returns what came, never raises (retried: a loaded
    # machine may let a reply miss a 0.3 s window, which is no failure of gather)
    wait_for(lambda: len(client.gather("who", b"", timeout=0.3)) == 3, timeout=10)
    assert client.gather("nobody", b"", timeout=0.05) == []
    callers = set()

    def until(ms):
        callers.add(gevent.getcurrent())  # user code: runs in the gathering greenlet, not the reader
        return any(m.data == b"r1" for m in ms)

    msgs = client.gather("who", b"", timeout=5, until=until)
    assert any(m.data == b"r1" for m in msgs)
    assert callers == {gevent.getcurrent()}


def test_queue_group_delivers_each_message_once(nats_url, make_bus):
    counts = [[], []]
    for i in range(2):
        b = make_bus(nats_url, name="worker%d" % i)
        b.subscribe("jobs", counts[i].append, queue="workers")
        b.flush()
    pub = make_bus(nats_url)
    for i in range(200):
        pub.publish("jobs", b"%d" % i)
    wait_for(lambda: len(counts[0]) + len(counts[1]) == 200)
    assert sorted(int(m.data) for m in counts[0] + counts[1]) == list(range(200))
    assert counts[0] and counts[1]


def test_unsubscribe_stops_delivery(nats_url, make_bus):
    bus = make_bus(nats_url)
    got = []
    sub = bus.subscribe("u", got.append)
    bus.flush()
    bus.publish("u", b"1")
    wait_for(lambda: got)
    sub.unsubscribe()
    bus.publish("u", b"2")
    bus.flush()
    assert [m.data for m in got] == [b"1"]
    assert bus.stats["subscriptions"] == 0


def test_megabyte_payload_round_trip(nats_url, make_bus):
    responder = make_bus(nats_url, name="responder")
    echo_responder(responder)
    client = make_bus(nats_url)
    assert client.max_payload == 1024 * 1024
    payload = bytes(range(256)) * 4096  # exactly 1 MiB, the server's limit
    reply = client.request("echo", payload, timeout=10)
    assert reply.data == payload


def test_payload_over_max_payload_refused_before_sending(nats_factory, make_bus):
    server = nats_factory(max_payload=4096)
    bus = make_bus(server.url)
    assert bus.max_payload == 4096
    got = []
    bus.subscribe("big", got.append)
    bus.flush()
    with pytest.raises(PayloadTooLarge, match="4097 bytes"):
        bus.publish("big", b"x" * 4097)
    bus.publish("big", b"x" * 4096)
    wait_for(lambda: got)
    assert len(got[0].data) == 4096 and bus.stats["out_msgs"] == 1 and bus.connected


def test_invalid_subjects_refused(nats_url, make_bus):
    bus = make_bus(nats_url)
    for bad in ("", "a b", "a\r\nPUB x 1"):
        with pytest.raises(InvalidSubject):
            bus.publish(bad, b"x")
        with pytest.raises(InvalidSubject):
            bus.subscribe(bad, print)
    with pytest.raises(InvalidSubject):
        bus.subscribe("ok", print, queue="bad queue")
    bus.flush()
    assert bus.connected and bus.stats["errors"] == 0


def test_blocking_handler_does_not_delay_other_subscriptions(nats_url, make_bus):
    bus = make_bus(nats_url)
    release = gevent.event.Event()
    entered = gevent.event.Event()
    fast = []

    def blocking(msg):
        entered.set()
        release.wait(10)

    bus.subscribe("slow", blocking)
    bus.subscribe("fast", fast.append)
    bus.flush()
    bus.publish("slow", b"1")
    assert entered.wait(5)
    for i in range(50):
        bus.publish("fast", b"%d" % i)
        bus.publish("slow", b"more")
    wait_for(lambda: len(fast) == 50)
    # and request/reply on the same connection still flows
    echo_responder(bus)
    assert bus.request("echo", b"r", timeout=5).data == b"r"
    assert not release.is_set()
    release.set()


def test_queue_overflow_drops_oldest_and_counts(nats_url, make_bus, caplog):
    bus = make_bus(nats_url)
    release = gevent.event.Event()
    entered = gevent.event.Event()
    delivered = []

    def handler(msg):
        delivered.append(msg.data)
        entered.set()
        release.wait(10)

    sub = bus.subscribe("flood", handler, max_pending=5)
    bus.flush()
    bus.publish("flood", b"0")
    assert entered.wait(5)
    with caplog.at_level(logging.WARNING, logger="ariproxy.bus"):
        for i in range(1, 20):
            bus.publish("flood", b"%d" % i)
        bus.flush()  # our own messages came back before the PONG
        assert sub.pending == 5 and sub.dropped == 14 and bus.stats["dropped"] == 14
        release.set()
        wait_for(lambda: len(delivered) == 6)
    assert delivered == [b"0", b"15", b"16", b"17", b"18", b"19"]
    full_logs = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert len(full_logs) == 1  # once per burst, not once per message


def test_server_error_surfaced_and_connection_keeps_working(nats_factory, make_bus):
    config = """
    authorization {
      users = [
        {user: app, password: "%s", permissions: {publish: {deny: ["forbidden.>"]}}}
      ]
    }
    """ % NATS_PASSWORD
    server = nats_factory(config=config)
    url = "nats://app:%s@127.0.0.1:%d" % (NATS_PASSWORD, server.port)
    seen = []
    bus = make_bus(url, on_error=lambda b, e: seen.append(e))
    echo_responder(bus)
    bus.publish("forbidden.x", b"nope")
    with pytest.raises(ServerError, match="Permissions Violation for Publish"):
        bus.flush()
    with pytest.raises(ServerError, match="forbidden.y"):
        bus.request("forbidden.y", b"nope", timeout=10)
    assert bus.stats["errors"] == 2 and bus.stats["reconnects"] == 0
    wait_for(lambda: len(seen) == 2)
    assert all(isinstance(e, ServerError) for e in seen)
    # the reader survived: traffic continues on the same connection
    assert bus.request("echo", b"still here", timeout=5).data == b"still here"
    bus.flush()


def test_drain_delivers_what_is_queued_then_closes(nats_url, make_bus):
    bus = make_bus(nats_url)
    release = gevent.event.Event()
    delivered = []

    def handler(msg):
        release.wait(10)
        delivered.append(msg.data)

    bus.subscribe("work", handler)
    bus.flush()
    for i in range(50):
        bus.publish("work", b"%d" % i)
    bus.flush()
    drainer = gevent.spawn(bus.drain, 10)
    wait_for(lambda: bus.state == "draining")
    with pytest.raises(BusClosed):
        bus.subscribe("late", print)
    release.set()
    drainer.get(timeout=10)
    assert delivered == [b"%d" % i for i in range(50)]
    assert bus.state == "closed" and not bus.connected
    with pytest.raises(NotConnected):
        bus.publish("work", b"after")


def test_close_fails_requests_in_flight(nats_url, make_bus):
    bus = make_bus(nats_url)
    bus.subscribe("hole", lambda msg: None)  # never answers
    bus.flush()
    waiter = gevent.spawn(bus.request, "hole", b"", 30)
    wait_for(lambda: bus.stats["requests_in_flight"] == 1)
    bus.close()
    with pytest.raises(BusError):
        waiter.get(timeout=5)
    with pytest.raises(BusClosed):
        bus.request("hole", b"")


def test_user_password_auth_accepted_and_rejected(nats_factory, make_bus):
    server = nats_factory(user="ari", password=NATS_PASSWORD)
    bus = make_bus("nats://ari:%s@127.0.0.1:%d" % (NATS_PASSWORD, server.port))
    echo_responder(bus)
    assert bus.request("echo", b"ok", timeout=5).data == b"ok"
    with pytest.raises(AuthorizationFailed) as info:
        make_bus("nats://ari:%s@127.0.0.1:%d" % (WRONG_PASSWORD, server.port))
    assert WRONG_PASSWORD not in str(info.value) and "Authorization" in str(info.value)
    with pytest.raises(AuthorizationFailed):
        make_bus(server.url)  # no credentials at all


def test_token_auth_accepted_and_rejected(nats_factory, make_bus):
    server = nats_factory(token=NATS_TOKEN)
    bus = make_bus("nats://%s@127.0.0.1:%d" % (NATS_TOKEN, server.port))
    echo_responder(bus)
    assert bus.request("echo", b"ok", timeout=5).data == b"ok"
    assert NATS_TOKEN not in repr(bus)
    with pytest.raises(AuthorizationFailed) as info:
        make_bus("nats://%s@127.0.0.1:%d" % (WRONG_PASSWORD, server.port))
    assert WRONG_PASSWORD not in str(info.value)


def test_connect_failure_is_clear(make_bus):
    from tests.support.nats import free_port
    port = free_port()
    with pytest.raises(ConnectFailed, match="127.0.0.1:%d" % port):
        make_bus("nats://127.0.0.1:%d" % port, connect_timeout=1)


def test_servers_list_skips_a_dead_one(nats_url, make_bus):
    from tests.support.nats import free_port
    dead = "nats://127.0.0.1:%d" % free_port()
    bus = make_bus("%s, %s" % (dead, nats_url))
    assert bus.connected_url == nats_url


def test_publish_then_close_loses_nothing(nats_url, make_bus):
    got = []
    subscriber = make_bus(nats_url, name="subscriber")
    subscriber.subscribe("last.words", got.append)
    subscriber.flush()
    publisher = make_bus(nats_url, name="publisher")
    for i in range(500):
        publisher.publish("last.words", b"%d" % i)
    publisher.close()  # publishes are written by a writer greenlet: close hands them over first
    wait_for(lambda: len(got) == 500)
    assert [int(m.data) for m in got] == list(range(500))


def test_concurrent_connect_calls_share_one_connection(nats_url, make_bus):
    bus = make_bus(nats_url, connect=False)
    callers = [gevent.spawn(bus.connect) for _ in range(5)]
    gevent.joinall(callers, timeout=10, raise_error=True)
    assert bus.connected
    bus.flush()
    assert bus.stats["reconnects"] == 0


def test_not_connected_before_connect(nats_url, make_bus):
    bus = make_bus(nats_url, connect=False)
    assert bus.state == "disconnected"
    with pytest.raises(NotConnected):
        bus.publish("x", b"")
    with pytest.raises(NotConnected):
        bus.request("x", b"")
    sub = bus.subscribe("early", lambda m: None)  # kept, sent at connect
    bus.connect()
    bus.flush()
    assert sub.sid in bus._subs and bus.stats["subscriptions"] == 1


def test_server_error_that_closes_the_connection_leads_to_reconnect(nats_url, make_bus):
    bus = make_bus(nats_url)
    echo_responder(bus)
    bus._write(b"BOGUS\r\n")  # a protocol violation: the server answers -ERR and hangs up
    wait_for(lambda: bus.stats["errors"] == 1 and bus.stats["reconnects"] == 1 and bus.connected)
    assert "Unknown Protocol Operation" in bus.last_error.text
    bus.flush()
    assert bus.request("echo", b"back", timeout=5).data == b"back"


def test_pynats2_internals_relied_on():
    """ariproxy.bus uses pynats2 0.9.0's constructor, _connect_tls and _send_connect_command."""
    import importlib.metadata

    import pynats2.client
    assert importlib.metadata.version("pynats2") == "0.9.0"
    hs = pynats2.client.NATSNoSubscribeClient("nats://user:%s@example.org:4333" % NATS_PASSWORD, name="n")
    opts = hs._conn_options
    assert (opts["hostname"], opts["port"], opts["username"], opts["password"]) == (
        "example.org", 4333, "user", NATS_PASSWORD)
    assert opts["protocol"] == 0 and opts["tls"] is False
    assert callable(hs._connect_tls) and callable(hs._send_connect_command)


@pytest.mark.parametrize("behaviour", ["hang up", "say nothing", "speak nonsense"])
def test_connect_to_something_that_is_not_nats_fails_clearly(behaviour, make_bus):
    """pynats2's own connect() spins forever when the peer hangs up before INFO; ours must not."""
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    held = []

    def serve():
        while True:
            conn, _ = listener.accept()
            if behaviour == "hang up":
                conn.close()
            elif behaviour == "speak nonsense":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                held.append(conn)
            else:
                held.append(conn)

    server = gevent.spawn(serve)
    try:
        with pytest.raises(ConnectFailed):
            make_bus("nats://127.0.0.1:%d" % listener.getsockname()[1], connect_timeout=0.3)
    finally:
        server.kill()
        listener.close()
        for conn in held:
            conn.close()


def test_server_urls_parsed_and_never_shown_with_secrets():
    bus = Bus("nats://user:%s@h1:4333, tls://%s@h2,h3:4555,nats://[::1]" % (NATS_PASSWORD, NATS_TOKEN))
    assert bus.servers == ["nats://h1:4333", "tls://h2:4222", "nats://h3:4555", "nats://[::1]:4222"]
    assert NATS_PASSWORD not in repr(bus) and NATS_TOKEN not in repr(bus)
    for bad in ("http://h1:4222", "nats://", "nats://h1:notaport", ""):
        with pytest.raises(BusError) as info:
            Bus("nats://user:%s@ok:4222," % NATS_PASSWORD + bad if bad else bad)
        assert NATS_PASSWORD not in str(info.value)


def test_big_refused_messages_are_skipped_unread_and_parsing_goes_on(nats_url, make_bus):
    # a subscription with on_overflow refuses what does not fit; a refused message of 64 KiB or more
    # is discarded by the reader without being copied (its payload never reaches Python), whether it
    # arrived whole in one read or is still coming; what follows it is parsed intact
    bus = make_bus(nats_url)
    pub = make_bus(nats_url)
    release = gevent.event.Event()
    got, refused = [], []

    def callback(msg):
        got.append(msg.data)
        if msg.data == b"first":
            release.wait(10)

    sub = bus.subscribe("skip.me", callback, max_pending=100, max_pending_bytes=1000,
                        on_overflow=lambda msg: refused.append((msg.reply, len(msg.data))))
    bus.flush()
    pub.publish("skip.me", b"first")
    pub.flush()
    wait_for(lambda: got == [b"first"], 10)          # the callback holds the delivery greenlet
    pub.publish("skip.me", b"queued-1")
    for i, size in enumerate([100 * 1024, 700 * 1024, 70 * 1024, 900 * 1024]):
        pub.publish("skip.me", b"%d" % i * size, reply="r.%d" % i)
    pub.publish("skip.me", b"queued-2")
    pub.flush()
    wait_for(lambda: len(refused) == 4 and bus.stats["in_msgs"] >= 7, 10)
    release.set()
    wait_for(lambda: len(got) == 3, 10)
    assert got == [b"first", b"queued-1", b"queued-2"]
    assert refused == [("r.0", 0), ("r.1", 0), ("r.2", 0), ("r.3", 0)]
    assert sub.refused == 4 and sub.dropped == 0
    assert bus.stats["in_bytes"] >= 1770 * 1024 and bus.stats["reconnects"] == 0
    # the connection is still in step: a request round trip works
    echo_responder(pub, "skip.echo")
    assert bus.request("skip.echo", b"ping", timeout=5).data == b"ping"
