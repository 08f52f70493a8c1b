"""The client library's costs: request round trip, event delivery, memory per child/subscription.

One run.  Processes (started here on free loopback ports, stopped by PID):
nats-server, the simulator, two ari-proxy servers (REST over the events
websocket, which ``auto`` picks on Asterisk 22, and REST over HTTP: the
same HTTP call as the direct row), an
echo responder and an event publisher; the measuring client is this process.

(a) A data request (``client.asterisk.info(node=...)``: request, server, ARI,
    reply, decode) versus the same request sent raw on the bus (the client
    code's own share), the same ARI call made directly with ``requests`` and a
    bare NATS round trip; sequential p50 and mean.  Target: the client within
    1.25x of direct ARI + NATS echo.
(b) Event delivery through the client's router to one entity subscription
    with 1 and with 10,000 idle subscriptions on other entities: events/s and
    CPU microseconds per event in this process.  Target: within 1.2x.
(c) Memory (tracemalloc) per ``client.new()`` child and per subscription.
    Targets: under 50 KB and under 10 KB.

    .venv/bin/python bench/client.py [--seconds 2] [--events 20000] [--rounds 3]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import gevent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from ariproxy.bus import Bus  # noqa: E402
from ariproxy.client import Client  # noqa: E402
from ariproxy.jsonutil import dumps  # noqa: E402
from tests.support.nats import NatsServer, free_port  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_server", os.path.join(HERE, "server.py"))
bench_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_server)

APP = "bench-client"            # server with REST over the events websocket (what auto picks on Asterisk 22)
APP_HTTP = "bench-client-http"  # server with REST over HTTP, the same HTTP call as the direct row
NODE = bench_server.ENTITY_ID
EVENT_SUBJECT = "ari.event.%s.%s" % (APP, NODE)
TARGET = "bench-target-channel"


# -- child: event publisher -------------------------------------------------------------------

def _event(channel_id, seq):
    return dumps({"type": "ChannelVarset", "application": APP, "asterisk_id": NODE,
                  "timestamp": "2026-11-29T04:16:07.044+0000", "variable": "SEQ", "value": str(seq),
                  "channel": {"id": channel_id, "name": "PJSIP/alice-00000001", "state": "Up",
                              "caller": {"name": "", "number": "1000"}, "connected": {"name": "", "number": ""},
                              "accountcode": "", "dialplan": {"context": "default", "exten": "1000",
                                                              "priority": 1, "app_name": "Stasis",
                                                              "app_data": APP},
                              "creationtime": "2026-11-29T04:16:07.044+0000", "language": "en"}})


def serve_publisher(nats_url):
    """``--serve-publisher``: on each stdin line ``N``, publish N events for TARGET, then print ``done``."""
    bus = Bus(nats_url, name="bench-publisher")
    bus.connect()
    events = [_event(TARGET, i) for i in range(1000)]
    print("ready", flush=True)
    for line in sys.stdin:
        n = int(line)
        for i in range(n):
            bus.publish(EVENT_SUBJECT, events[i % 1000])
            if i % 500 == 499:
                gevent.sleep(0)
        bus.flush(timeout=30)
        print("done", flush=True)
    bus.close()
    return 0


class Publisher:
    def __init__(self, nats_url):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-publisher", nats_url],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError("publisher did not start")

    def burst(self, n):
        self.proc.stdin.write("%d\n" % n)
        self.proc.stdin.flush()

    def wait_done(self):
        return self.proc.stdout.readline().strip() == "done"

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


# -- measuring ----------------------------------------------------------------------------------

def latency(call, seconds):
    """Sequential calls for about ``seconds``: (p50 ms, mean ms)."""
    for _ in range(20):
        call()
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return samples[len(samples) // 2] * 1000, sum(samples) / len(samples) * 1000


def section_latency(args, client, nats_url, ari_url):
    print("\n(a) data request (AsteriskInfo), sequential; best of %d interleaved rounds" % args.rounds)
    from ariproxy.protocol import Key, Request, Response
    client_call = lambda: client.asterisk.info(node=NODE)  # noqa: E731
    http_client = client.new(application=APP_HTTP)
    http_call = lambda: http_client.asterisk.info(node=NODE)  # noqa: E731
    raw = Request("AsteriskInfo", Key(node=NODE, app=APP)).encode()
    subject = "ari.data.%s.%s" % (APP, NODE)
    raw_call = lambda: Response.decode(client.bus.request(subject, raw, timeout=5).data)  # noqa: E731
    direct_call = bench_server.direct_call(ari_url, "/asterisk/info")
    echo_bus = Bus(nats_url, name="bench-echo-client")
    echo_bus.connect()
    echo_call = lambda: echo_bus.request(bench_server.ECHO_SUBJECT, raw, timeout=5)  # noqa: E731
    calls = [("client + server (ariproxy.client; server REST over websocket)", client_call),
             ("same request, raw bus (no client code)", raw_call),
             ("client + server with REST over HTTP", http_call),
             ("direct ARI (requests)", direct_call),
             ("bare NATS echo", echo_call)]
    best = {}
    for _ in range(args.rounds):
        for name, call in calls:
            p50, mean = latency(call, args.seconds)
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], p50), min(old[1], mean))
    echo_bus.close()
    http_client.close()
    print("| | p50 ms | mean ms |")
    print("|---|---|---|")
    for name, _ in calls:
        print("| %s | %.3f | %.3f |" % ((name,) + best[name]))
    proxied, http, direct, echo = (best[calls[i][0]] for i in (0, 2, 3, 4))
    print("client / (direct ARI + NATS echo): %.2fx at p50, %.2fx mean (target <= 1.25x); over HTTP: %.2fx, "
          "%.2fx; the client code's own share: %.3f ms at p50"
          % (proxied[0] / (direct[0] + echo[0]), proxied[1] / (direct[1] + echo[1]),
             http[0] / (direct[0] + echo[0]), http[1] / (direct[1] + echo[1]), proxied[0] - best[calls[1][0]][0]))


def deliver(client, publisher, n):
    """Publish ``n`` events for TARGET; returns (events/s, CPU us/event) as seen by one subscription."""
    sub = client.channels.handle(TARGET, node=NODE).subscribe("ChannelVarset", queue_size=n + 10)
    client.bus.flush()
    gc.collect()  # both runs start from the same collector state
    cpu0 = time.process_time()
    publisher.burst(n)
    deadline = time.monotonic() + 60
    first = None
    while sub.pending < n and time.monotonic() < deadline:
        if first is None and sub.pending:
            first = (time.perf_counter(), sub.pending)
        gevent.sleep(0.0005)
    end, cpu = time.perf_counter(), time.process_time() - cpu0
    first = first or (end, 0)
    elapsed = max(end - first[0], 1e-6)
    got = sub.pending
    sub.close()
    publisher.wait_done()
    if got < n:
        print("  (only %d of %d events arrived; dropped at the bus: %d)" % (got, n, client.bus.stats["dropped"]))
    return (got - first[1]) / elapsed, cpu / max(got, 1) * 1e6


def router_cost(client, n):
    """CPU us per event of the client's router alone (decode, fan-out, queue), fed in-process."""
    from ariproxy.bus import Msg
    router = client._conn.router
    sub = client.channels.handle(TARGET, node=NODE).subscribe("ChannelVarset", queue_size=n + 10)
    route = router._routes[sub.subject]
    msgs = [Msg(EVENT_SUBJECT, None, _event(TARGET, i)) for i in range(1000)]
    gc.collect()
    cpu0 = time.process_time()
    for i in range(n):
        router._deliver(route, msgs[i % 1000])
    cpu = time.process_time() - cpu0
    assert sub.pending == n
    sub.close()
    return cpu / n * 1e6


def section_events(args, client, publisher):
    print("\n(b) event delivery to one entity subscription (%d events, ChannelVarset); best of %d rounds"
          % (args.events, args.rounds))
    deliver(client, publisher, 1000)  # warm up
    idle = []
    one, many = (0, float("inf"), float("inf")), (0, float("inf"), float("inf"))
    for _ in range(args.rounds):
        r = deliver(client, publisher, args.events)
        alone = router_cost(client, args.events)
        one = (max(one[0], r[0]), min(one[1], r[1]), min(one[2], alone))
        idle = [client.channels.handle("idle-%d" % i, node=NODE).subscribe() for i in range(10000)]
        client.bus.flush()
        r = deliver(client, publisher, args.events)
        alone = router_cost(client, args.events)
        many = (max(many[0], r[0]), min(many[1], r[1]), min(many[2], alone))
        for sub in idle:
            sub.close()
    print("| | events/s | CPU us/event (client process) | CPU us/event (router alone, in-process) |")
    print("|---|---|---|---|")
    print("| 1 subscription | %.0f | %.1f | %.1f |" % one)
    print("| 1 + 10,000 idle subscriptions | %.0f | %.1f | %.1f |" % many)
    print("with 10,000 idle subscriptions: rate %.2fx, per-event CPU %.2fx (router alone %.2fx) of the "
          "1-subscription run (target within 1.2x)" % (many[0] / one[0], many[1] / one[1], many[2] / one[2]))


def section_memory(client):
    print("\n(c) memory (tracemalloc)")
    n_children, n_subs = 1000, 10000
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    children = [client.new() for _ in range(n_children)]
    after_children = tracemalloc.take_snapshot()
    subs = [client.channels.handle("mem-%d" % i, node=NODE).subscribe("ChannelVarset") for i in range(n_subs)]
    after_subs = tracemalloc.take_snapshot()
    tracemalloc.stop()
    per_child = sum(s.size_diff for s in after_children.compare_to(base, "filename")) / n_children
    per_sub = sum(s.size_diff for s in after_subs.compare_to(after_children, "filename")) / n_subs
    for sub in subs:
        sub.close()
    for child in children:
        child.close()
    print("| | bytes each | target |")
    print("|---|---|---|")
    print("| client.new() child (%d) | %.0f | < 51200 |" % (n_children, per_child))
    print("| subscription (%d) | %.0f | < 10240 |" % (n_subs, per_sub))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per latency row")
    parser.add_argument("--events", type=int, default=20000, help="events per delivery burst")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per measurement (best kept)")
    parser.add_argument("--serve-publisher", metavar="NATS_URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_publisher:
        return serve_publisher(args.serve_publisher)

    nats = NatsServer().start()
    children = []
    client = None
    try:
        server_script = os.path.join(HERE, "server.py")
        port = free_port()
        sim = bench_server.Child([sys.executable, server_script, "--serve-sim", str(port)], "simulator")
        children.append(sim)
        ari_url = "http://127.0.0.1:%d/ari" % port
        children.append(bench_server.Child([sys.executable, server_script, "--serve-echo", nats.url], "echo"))
        children.append(bench_server.Child([sys.executable, server_script, "--serve-proxy", ari_url, nats.url, APP,
                                            "websocket"], "ari-proxy (websocket)"))
        children.append(bench_server.Child([sys.executable, server_script, "--serve-proxy", ari_url, nats.url,
                                            APP_HTTP, "http"], "ari-proxy (http)"))
        publisher = Publisher(nats.url)
        children.append(publisher)
        client = Client(application=APP, url=nats.url, timeout=5.0)
        client.ping(wait=5.0, count=1)
        print("ariproxy client benchmark: nats-server pid %d, simulator pid %d, server pids %d (websocket) %d (http), "
              "client pid %d (python %s)" % (nats.pid, sim.pid, children[2].pid, children[3].pid, os.getpid(),
                                             sys.version.split()[0]))
        section_latency(args, client, nats.url, ari_url)
        section_events(args, client, publisher)
        section_memory(client)
        return 0
    finally:
        if client is not None:
            client.close()
        for c in reversed(children):
            c.stop()
        nats.cleanup()


if __name__ == "__main__":
    sys.exit(main())
