"""The ari-proxy server, measured: proxied requests vs direct ARI, event throughput, memory over churn.

One run starts, each in its own process (stopped by PID at the end): a
nats-server, a simulator (see ``serve_sim``), three ari-proxy servers
on that simulator (application ``bench-http`` with ``rest_transport=http``
and the default ``requests`` HTTP client, ``bench-native`` with
``rest_transport=http`` and ``http_client=native``, ``bench-ws`` with
``rest_transport=websocket``) and an echo responder for the bare NATS round
trip.  This process only measures.  It prints:

(a) a data request (``AsteriskInfo`` by default, ``--kind ChannelData`` for a
    channel) through the proxy over each REST transport, side by side with
    the same ARI call made directly (with ``requests``, and with
    ``ariproxy.ari`` over HTTP and over the websocket: the proxy's floors)
    and a bare NATS round trip: sequential p50/p99 latency and requests/s,
    then requests/s with 20 concurrent callers;
(b) events/s and events lost for a simulator burst to NATS subscribers through each server, the
    simulator giving up a slow reader's websocket after 100 ms as Asterisk does, beside the same burst
    read straight from the simulator by ``ariproxy.ari`` alone (the floor), with each server's RSS
    idle, at the peak of and after the burst;
(d) a server stalled past the write timeout (SIGSTOP until the simulator gave
    its socket up, then SIGCONT): seconds until its gap marker reached NATS;
(c) the RSS of the websocket server's process before and after a churn of
    originate / answer / play / hangup with dialogs (``--churn-minutes``,
    default 0.25; 10 for the full check).

    .venv/bin/python bench/server.py [--seconds 2] [--rounds 4] [--churn-minutes 0.25] [--events 50000]

Targets (issues 5 and 8): proxied <= direct + NATS round trip + 25%;
websocket proxied faster than the direct HTTP call; >= 30,000 events/s per
server process and 0 lost with the write timeout on, RSS back within 1.5x of
idle after the burst (issue 11); RSS within 10% across the churn.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import gevent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from ariproxy.bus import Bus  # noqa: E402
from ariproxy.protocol import Key, Request, Response  # noqa: E402
from tests.support.nats import NatsServer, free_port  # noqa: E402

ENTITY_ID = "02:fc:00:00:00:01"
ECHO_SUBJECT = "bench.echo"
APPS = {"http": "bench-http", "http-native": "bench-native", "websocket": "bench-ws"}
# row label -> (rest_transport, ari_http_client) of its server
SERVER_OPTIONS = {"http": ("http", "requests"), "http-native": ("http", "native"), "websocket": ("websocket", "requests")}
CONCURRENCY = 20


# -- child processes ------------------------------------------------------------------------------

def serve_proxy(ari_url, nats_url, app, label):
    """``--serve-proxy``: run one Server until SIGTERM (graceful stop)."""
    import logging
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from ariproxy.server import Server
    transport, http_client = SERVER_OPTIONS[label]
    srv = Server(ari_url=ari_url, application=app, nats_url=nats_url, rest_transport=transport,
                 ari_http_client=http_client, max_concurrent=10000,
                 # BENCH_INTAKE=1: the servers take requests in over one NATS connection (the default is 8)
                 nats_intake_connections=int(os.environ.get("BENCH_INTAKE", "8")))
    gevent.signal_handler(signal.SIGTERM, lambda: gevent.spawn(srv.stop))
    srv.start()
    if not srv.wait_ready(20):
        print("not ready: %s" % srv.state, flush=True)
        return 1
    if transport == "websocket":
        deadline = time.monotonic() + 5
        while srv.ari.active_rest_transport != "websocket" and time.monotonic() < deadline:
            gevent.sleep(0.01)
    print("ready %s" % srv.ari.active_rest_transport, flush=True)
    srv.wait_stopped()
    return 0


def serve_echo(nats_url):
    """``--serve-echo``: answer every message on ECHO_SUBJECT with its payload, until SIGTERM."""
    import gevent.event
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    bus = Bus(nats_url, name="bench-echo")
    bus.connect()
    bus.subscribe(ECHO_SUBJECT, lambda msg: msg.respond(msg.data))
    bus.flush()
    print("ready", flush=True)
    stop.wait()
    bus.close()
    return 0


class Child:
    """A child process that prints ``ready`` once it serves; stopped by PID."""

    def __init__(self, args, what):
        self.what = what
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError("%s did not start (%r)" % (what, line))
        self.ready_line = line

    @property
    def pid(self):
        return self.proc.pid

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def serve_sim(port):
    """``--serve-sim``: the simulator (as ``python -m ariproxy.sim``), with TCP_NODELAY on its sockets.

    Real Asterisk answers keep-alive HTTP without delay (0.41 ms p50); a
    server writing headers and body separately without TCP_NODELAY meets the
    client's delayed ACK (~40 ms per request), which would measure the stall,
    not ARI.  Harmless once the simulator sets it itself.
    """
    import socket
    from gevent.event import Event
    from ariproxy.sim import server as sim_server
    handler_init = sim_server._Handler.__init__

    def init(self, sock, *a, **k):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        handler_init(self, sock, *a, **k)
    sim_server._Handler.__init__ = init
    sim = sim_server.Simulator(port=port, entity_id=ENTITY_ID, endpoints=[("PJSIP", "alice")])
    sim.start()
    done = Event()
    gevent.signal_handler(signal.SIGTERM, done.set)
    print("ready", flush=True)
    done.wait()
    sim.stop()
    return 0


# -- measuring ----------------------------------------------------------------------------------

def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[i]


def sequential_samples(call, seconds, warmup=50):
    """(latencies in s, elapsed s) of ``call()`` in one loop for ``seconds``, after ``warmup`` calls."""
    for _ in range(warmup):
        call()
    lat = []
    end = time.perf_counter() + seconds
    started = time.perf_counter()
    while True:
        t = time.perf_counter()
        if t >= end:
            break
        call()
        lat.append(time.perf_counter() - t)
    return lat, time.perf_counter() - started


def summarize(lat, elapsed):
    """(p50 ms, p99 ms, calls/s) of collected latencies."""
    lat = sorted(lat)
    return percentile(lat, 50) * 1000, percentile(lat, 99) * 1000, len(lat) / elapsed


def sequential(call, seconds):
    """(p50 ms, p99 ms, calls/s) of ``call()`` in one loop for ``seconds``."""
    return summarize(*sequential_samples(call, seconds))


def interleaved(calls, seconds, rounds):
    """{name: (p50 ms, p99 ms, calls/s)}: each call measured ``rounds`` times, in turn, ``seconds`` in all.

    Taking turns spreads a busy moment of the machine over every row
    instead of letting it land on one.
    """
    lat = {name: [] for name in calls}
    elapsed = dict.fromkeys(calls, 0.0)
    for i in range(rounds):
        for name, call in calls.items():
            samples, took = sequential_samples(call, seconds / rounds, warmup=50 if i == 0 else 5)
            lat[name] += samples
            elapsed[name] += took
    return {name: summarize(lat[name], elapsed[name]) for name in calls}


def concurrent(make_call, seconds, workers=CONCURRENCY):
    """calls/s with ``workers`` greenlets, each running its own ``make_call()`` callable."""
    counts = [0] * workers
    stop = [False]

    def worker(i):
        call = make_call()
        while not stop[0]:
            call()
            counts[i] += 1

    greenlets = [gevent.spawn(worker, i) for i in range(workers)]
    gevent.sleep(0.2)                     # warm-up
    base = sum(counts)
    started = time.perf_counter()
    gevent.sleep(seconds)
    done = sum(counts) - base
    elapsed = time.perf_counter() - started
    stop[0] = True
    gevent.joinall(greenlets, timeout=10)
    return done / elapsed


def proxied_call(bus, app, payload):
    subject = "ari.data.%s.%s" % (app, ENTITY_ID)

    def call():
        msg = bus.request(subject, payload, timeout=5)
        if b'"error":""' not in msg.data[:12]:
            raise RuntimeError(msg.data[:200])
    return call


def direct_call(ari_url, path, session=None):
    import requests
    s = session or requests.Session()
    s.auth = ("asterisk", "asterisk")
    s.trust_env = False
    url = ari_url + path

    def call():
        r = s.get(url, timeout=5)
        r.raise_for_status()
        r.json()   # the proxy decodes ARI's answer too
    return call


def open_direct_http(ari_url):
    """ariproxy.ari over HTTP with its native keep-alive client: the floor of the http-native server."""
    from ariproxy.ari import ARI
    return ARI(url=ari_url, app="bench-direct", rest_transport="http", http_client="native")


def direct_ari_call(ari, resource, operation, params):
    def call():
        ari.call(resource, operation, **params)
    return call


def open_direct_ws(ari_url):
    """ariproxy.ari over the events websocket of its own application (the floor of the ws transport)."""
    from ariproxy.ari import ARI
    ari = ARI(url=ari_url, app="bench-direct", rest_transport="websocket")
    ari.events(lambda event: None)
    deadline = time.monotonic() + 5
    while ari.active_rest_transport != "websocket" and time.monotonic() < deadline:
        gevent.sleep(0.01)
    return ari


def echo_call(bus, payload):
    def call():
        bus.request(ECHO_SUBJECT, payload, timeout=5)
    return call


def make_channel(bus, app, cid):
    req = Request("ChannelOriginate", Key(node=ENTITY_ID, app=app), "channel_originate",
                  {"originate_request": {"endpoint": "Local/1000@default", "app": app, "channelId": cid}})
    Response.decode(bus.request("ari.create.%s.%s" % (app, ENTITY_ID), req.encode(), timeout=5).data) \
        .raise_for_error()


def section_latency(args, bus, ari_url):
    print("\n(a) data request %s: sequential latency (rows in turn, %d rounds), then %d concurrent callers"
          % (args.kind, args.rounds, CONCURRENCY))
    if args.kind == "ChannelData":
        cid = "bench-" + uuid.uuid4().hex[:8]
        for transport, app in APPS.items():
            make_channel(bus, app, cid + transport)
        rows_payload = {t: Request("ChannelData", Key("channel", cid + t, ENTITY_ID, "", app)).encode()
                        for t, app in APPS.items()}
        direct_path = "/channels/" + cid + "websocket"
        direct_op = ("channels", "get", {"channelId": cid + "websocket"})
    else:
        rows_payload = {t: b'{"kind":"AsteriskInfo","key":{}}' for t in APPS}
        direct_path = "/asterisk/info"
        direct_op = ("asterisk", "getInfo", {})
    ari_http = open_direct_http(ari_url)
    ari_ws = open_direct_ws(ari_url)
    try:
        makers = {
            "direct HTTP (requests)": lambda: direct_call(ari_url, direct_path),
            "direct HTTP (ariproxy.ari native)": lambda: direct_ari_call(ari_http, *direct_op),
            "direct websocket (ariproxy.ari)": lambda: direct_ari_call(ari_ws, *direct_op),
            "bare NATS round trip": lambda: echo_call(bus, rows_payload["http"]),
        }
        for transport, app in APPS.items():
            makers["proxied, REST over %s" % transport] = \
                lambda app=app, transport=transport: proxied_call(bus, app, rows_payload[transport])
        seq = interleaved({name: make() for name, make in makers.items()}, args.seconds, args.rounds)
        results = {name: seq[name] + (concurrent(make, args.seconds),) for name, make in makers.items()}
    finally:
        ari_http.close()
        ari_ws.close()
    print("  %-32s %9s %9s %10s %14s" % ("", "p50 ms", "p99 ms", "seq req/s", "20-way req/s"))
    for name, (p50, p99, rps, crps) in results.items():
        print("  %-32s %9.3f %9.3f %10.0f %14.0f" % (name, p50, p99, rps, crps))
    direct = results["direct HTTP (requests)"][0]
    rt = results["bare NATS round trip"][0]
    budget = (direct + rt) * 1.25
    for transport in APPS:
        p50 = results["proxied, REST over %s" % transport][0]
        print("  %s: proxied p50 %.3f ms = %.2fx direct; budget (direct + NATS RT) x 1.25 = %.3f ms -> %s"
              % (transport, p50, p50 / direct, budget, "OK" if p50 <= budget else "OVER"))
    ws = results["proxied, REST over websocket"][0]
    print("  websocket proxied vs direct HTTP: %.2fx (%s; the Go proxy manages 0.9x)"
          % (ws / direct, "faster" if ws < direct else "slower"))
    for transport, floor_row in (("http-native", "direct HTTP (ariproxy.ari native)"),
                                ("websocket", "direct websocket (ariproxy.ari)")):
        p50 = results["proxied, REST over %s" % transport][0]
        print("  %s proxied vs its own floor (%s + NATS RT): %.3f ms over"
              % (transport, floor_row, p50 - results[floor_row][0] - rt))
    return results


def _burst_and_count(bus, sim_base, app, n, subject, rss_of=None):
    """One burst of ``n`` events to ``app``; counts what reaches ``subject`` (None: the caller counts).

    Returns (sent, received, seconds, dropped by the simulator, rss samples (kb) or None).
    """
    import requests
    got = [0]
    done = gevent.event.Event()

    def on_event(msg):
        got[0] += 1
        if got[0] >= n:
            done.set()

    sub = bus.subscribe(subject, on_event, max_pending=n + 10)
    bus.flush()
    samples = []
    sampler = None
    if rss_of is not None:
        def sample():
            while True:
                samples.append(rss_of())
                gevent.sleep(0.05)
        sampler = gevent.spawn(sample)
    dropped_before = requests.get(sim_base + "/_sim/state", timeout=10).json()["websocket_dropped"]
    started = time.perf_counter()
    sent = requests.post(sim_base + "/_sim/burst", params={"n": n, "app": app}, timeout=120).json().get("sent", 0)
    # done, or the simulator gave the socket up and nothing more comes
    deadline = time.monotonic() + max(20.0, n / 2000.0)
    while not done.wait(0.2) and time.monotonic() < deadline:
        if requests.get(sim_base + "/_sim/state", timeout=10).json()["websocket_dropped"] > dropped_before:
            done.wait(3.0)      # what was written before the cut may still be on its way
            break
    elapsed = time.perf_counter() - started
    if sampler is not None:
        sampler.kill()
    sub.unsubscribe()
    dropped = requests.get(sim_base + "/_sim/state", timeout=10).json()["websocket_dropped"] - dropped_before
    return sent, got[0], elapsed, dropped, samples


def _floor_burst(sim_base, ari_url, n):
    """The same burst read straight from the simulator's websocket by ``ariproxy.ari`` alone (no NATS)."""
    import requests
    from ariproxy.ari import ARI
    got = [0]
    done = gevent.event.Event()

    def on_event(event):
        got[0] += 1
        if got[0] >= n:
            done.set()

    ari = ARI(ari_url, app="bench-floor", rest_transport="http")
    stream = ari.events(on_event)
    stream.wait_connected(10)
    started = time.perf_counter()
    sent = requests.post(sim_base + "/_sim/burst", params={"n": n, "app": "bench-floor"}, timeout=120).json()["sent"]
    done.wait(max(20.0, n / 2000.0))
    elapsed = time.perf_counter() - started
    ari.close()
    return sent, got[0], elapsed


def section_events(args, bus, sim_base, proxies):
    import requests
    ari_url = sim_base + "/ari"
    wt = requests.get(sim_base + "/_sim/state", timeout=10).json().get("websocket_write_timeout")
    print("\n(b) events: a simulator burst of %d events per application, the simulator giving up a slow "
          "reader's websocket after %s ms (Asterisk's websocket_write_timeout)" % (args.events, wt))
    print("    (a real Asterisk 22 on a 2-core box emits about 9,000-10,000 events/s; target >= 30,000 events/s "
          "and 0 lost on every transport)")
    sent, got, elapsed = _floor_burst(sim_base, ari_url, args.events)
    print("  %-34s sent %6d received %6d in %5.2fs: %8.0f events/s %s"
          % ("floor: ariproxy.ari alone", sent, got, elapsed, got / elapsed,
             "" if got == sent else "(LOST %d)" % (sent - got)))
    for transport, app in APPS.items():
        proxy = proxies[transport]
        idle = proxy.rss_kb()
        sent, got, elapsed, dropped, samples = _burst_and_count(bus, sim_base, app, args.events,
                                                                "ari.event.%s.>" % app, rss_of=proxy.rss_kb)
        gevent.sleep(2.0)       # let the server settle after the burst
        after = proxy.rss_kb()
        print("  %-34s sent %6d received %6d in %5.2fs: %8.0f events/s %s"
              % ("server (REST over %s)" % transport, sent, got, elapsed, got / elapsed,
                 "lost 0" if got == sent else "LOST %d (simulator dropped %d)" % (sent - got, dropped)))
        print("  %-34s RSS idle %.1f MB, peak %.1f MB, 2 s after %.1f MB (%.2fx idle)"
              % ("", idle / 1024.0, max(samples + [after]) / 1024.0, after / 1024.0, after / float(idle)))


def section_stall(args, bus, sim_base, proxies):
    """A server stalled past the write timeout (SIGSTOP): how long until it found out and told the apps."""
    import requests
    print("\n(d) a stalled server: SIGSTOP, a burst until the simulator gives its socket up, SIGCONT; time from "
          "SIGCONT to the gap marker on NATS (target: found within 2 s)")
    for transport, app in APPS.items():
        proxy = proxies[transport]
        markers = []
        got = gevent.event.Event()

        def on_msg(msg, markers=markers, got=got):
            if b"AriProxyEventGap" in msg.data[:64]:
                markers.append(time.monotonic())
                got.set()
        sub = bus.subscribe("ari.event.%s.>" % app, on_msg, max_pending=1000000)
        bus.flush()
        os.kill(proxy.pid, signal.SIGSTOP)
        try:
            requests.post(sim_base + "/_sim/burst", params={"n": 150000, "app": app}, timeout=120)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = requests.get(sim_base + "/_sim/state", timeout=10).json()
                if any(ws["write_failed"] and app in ws["apps"] for ws in state["websockets"]):
                    break
                gevent.sleep(0.05)
        finally:
            os.kill(proxy.pid, signal.SIGCONT)
            resumed = time.monotonic()
        got.wait(30)
        sub.unsubscribe()
        if markers:
            print("  %-34s gap marker %.2f s after SIGCONT" % ("server (REST over %s)" % transport, markers[0] - resumed))
        else:
            print("  %-34s NO gap marker within 30 s" % ("server (REST over %s)" % transport))
        # let it reconnect and serve again before the next section
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = requests.get(sim_base + "/_sim/state", timeout=10).json()
            if any(not ws["write_failed"] and app in ws["apps"] for ws in state["websockets"]):
                break
            gevent.sleep(0.1)


def churn_once(bus, app, i, dialog_events):
    cid = "churn-%d" % i
    dialog = "dlg-%d" % i
    node_key = Key(node=ENTITY_ID, app=app, dialog=dialog)

    def send(cls, kind, key, field=None, payload=None):
        req = Request(kind, key, field, payload).encode()
        resp = Response.decode(bus.request("ari.%s.%s.%s" % (cls, app, ENTITY_ID), req, timeout=5).data)
        return resp

    r = send("create", "ChannelCreate", node_key, "channel_create",
             {"channel_create_request": {"endpoint": "Local/1000@default", "app": app, "channelId": cid}})
    if r.error:
        raise RuntimeError(r.error)
    ck = Key("channel", cid, ENTITY_ID, dialog, app)
    send("command", "ChannelAnswer", ck)
    send("create", "ChannelPlay", ck, "channel_play", {"playback_id": "pb-%d" % i, "media_uri": "sound:beep"})
    send("command", "ChannelVariableSet", ck, "channel_variable", {"name": "X", "value": str(i)})
    send("data", "ChannelData", ck)
    send("command", "ChannelHangup", ck, "channel_hangup", {"reason": "normal"})


def section_memory(args, bus, proxy):
    print("\n(c) memory: RSS of the websocket server process across %.2f minutes of churn "
          "(create/answer/play/var/data/hangup with dialogs, %d at once)" % (args.churn_minutes, 10))
    app = APPS["websocket"]
    dialog_events = [0]
    bus.subscribe("ari.dialogevent.*", lambda msg: dialog_events.__setitem__(0, dialog_events[0] + 1),
                  max_pending=100000)
    counter = [0]
    stop = [False]

    def worker():
        while not stop[0]:
            counter[0] += 1
            churn_once(bus, app, counter[0], dialog_events)

    # warm-up: caches, pools and the interpreter's arenas settle first
    warm = [gevent.spawn(worker) for _ in range(10)]
    gevent.sleep(min(10.0, max(2.0, args.churn_minutes * 6)))
    before = proxy.rss_kb()
    calls_before = counter[0]
    end = time.monotonic() + args.churn_minutes * 60
    samples = []
    while time.monotonic() < end:
        gevent.sleep(min(5.0, max(0.5, end - time.monotonic())))
        samples.append(proxy.rss_kb())
    stop[0] = True
    gevent.joinall(warm, timeout=15)
    after = proxy.rss_kb()
    calls = counter[0] - calls_before
    change = (after - before) * 100.0 / before
    print("  calls churned %d (%.0f/s), dialog events seen %d" % (calls, calls / (args.churn_minutes * 60),
                                                                 dialog_events[0]))
    print("  RSS before %.1f MB, after %.1f MB (%+.1f%%), max during %.1f MB -> %s"
          % (before / 1024.0, after / 1024.0, change, max(samples + [after]) / 1024.0,
             "flat (within 10%)" if abs(change) <= 10 else "NOT flat"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per row and mode")
    parser.add_argument("--rounds", type=int, default=4,
                        help="sequential latency: rows measured in turn, this many times (seconds split between)")
    parser.add_argument("--kind", choices=("AsteriskInfo", "ChannelData"), default="AsteriskInfo")
    parser.add_argument("--events", type=int, default=100000)
    parser.add_argument("--churn-minutes", type=float, default=0.25)
    parser.add_argument("--sections", default="latency,events,stall,memory",
                        help="comma-separated sections to run: latency, events, stall, memory")
    parser.add_argument("--serve-proxy", nargs=4, metavar=("ARI_URL", "NATS_URL", "APP", "TRANSPORT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--serve-echo", metavar="NATS_URL", help=argparse.SUPPRESS)
    parser.add_argument("--serve-sim", metavar="PORT", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_proxy:
        return serve_proxy(*args.serve_proxy)
    if args.serve_echo:
        return serve_echo(args.serve_echo)
    if args.serve_sim:
        return serve_sim(args.serve_sim)

    import gevent.event  # noqa: F401  (used by section_events)
    nats = NatsServer().start()
    children = []
    bus = None
    try:
        me = os.path.abspath(__file__)
        port = free_port()
        sim = Child([sys.executable, me, "--serve-sim", str(port)], "simulator")
        children.append(sim)
        sim_base = "http://127.0.0.1:%d" % port
        ari_url = sim_base + "/ari"
        children.append(Child([sys.executable, me, "--serve-echo", nats.url], "echo responder"))
        proxies = {}
        for transport, app in APPS.items():
            proxies[transport] = Child([sys.executable, me, "--serve-proxy", ari_url, nats.url, app, transport],
                                       "ari-proxy (%s)" % transport)
            children.append(proxies[transport])
        print("ari-proxy server benchmark: nats-server pid %d, simulator pid %d, servers pids %s, echo pid %d; "
              "client pid %d (python %s)" % (nats.pid, sim.pid,
                                             ", ".join("%s=%d" % (t, c.pid) for t, c in proxies.items()),
                                             children[1].pid, os.getpid(), sys.version.split()[0]))
        for transport, c in proxies.items():
            print("  server %s: %s" % (transport, c.ready_line))
        bus = Bus(nats.url, name="bench-client")
        bus.connect()
        sections = set(args.sections.split(","))
        if "latency" in sections:
            section_latency(args, bus, ari_url)
        if "events" in sections:
            section_events(args, bus, sim_base, proxies)
        if "stall" in sections:
            section_stall(args, bus, sim_base, proxies)
        if "memory" in sections:
            section_memory(args, bus, proxies["websocket"])
        return 0
    finally:
        if bus is not None:
            bus.close()
        for c in reversed(children):
            c.stop()
        nats.cleanup()


if __name__ == "__main__":
    sys.exit(main())
