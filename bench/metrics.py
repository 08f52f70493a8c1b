"""The cost of metrics: two ari-proxy servers, metrics on and off, side by side in one run.

Starts, each in its own process (stopped by PID at the end): a nats-server,
a simulator (``python -m ariproxy.sim``), a server with ``http=127.0.0.1:<free port>`` and metrics on
(application ``bench-on``) and one without the HTTP listener (``bench-off``),
both with REST over the websocket (the fastest path, where a fixed per-request
cost weighs most).  This process only measures: 20 concurrent callers per
server send ``AsteriskInfo`` data requests to both servers at the same time,
for ``--rounds`` windows of ``--seconds`` (measured together, a busy moment
of the shared machine hits both alike); ``/metrics`` is scraped every
``--scrape-every`` seconds throughout (Prometheus' default is 15 s: 1 s is
pessimistic).  Prints the requests/s of each server per round and the
median on/off ratio, then the cost of the observer's hooks alone (a loop in
this process).  Target (issue 16): on >= 95% of off.

    .venv/bin/python bench/metrics.py [--seconds 3] [--rounds 6] [--scrape-every 1]

About 25 s with the defaults.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

import gevent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from ariproxy.bus import Bus  # noqa: E402
from ariproxy.protocol import Key, Request  # noqa: E402
from tests.support.nats import NatsServer, free_port  # noqa: E402

ENTITY_ID = "02:fc:00:00:00:01"
CONCURRENCY = 20


# -- child processes ------------------------------------------------------------------------------

def serve_proxy(ari_url, nats_url, app, http):
    """``--serve-proxy``: one Server (``http`` "-" for none) until SIGTERM."""
    import logging
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from ariproxy.server import Server
    srv = Server(ari_url=ari_url, application=app, nats_url=nats_url, rest_transport="websocket",
                 max_concurrent=10000, http=None if http == "-" else http)
    gevent.signal_handler(signal.SIGTERM, lambda: gevent.spawn(srv.stop))
    srv.start()
    if not srv.wait_ready(20):
        print("not ready: %s" % srv.state, flush=True)
        return 1
    # REST moves to the websocket once Asterisk's version is known
    _wait_until(lambda: srv.ari.active_rest_transport == "websocket", 5)
    print("ready %s" % srv.ari.active_rest_transport, flush=True)
    srv.wait_stopped()
    return 0


class Child:
    """A child process (this script with ``args``, or ``command``); stopped by PID.

    Ready when it prints ``ready``, or, given ``port``, when that loopback port accepts connections.
    """

    def __init__(self, args, what, command=None, port=None):
        self.what = what
        command = command or [sys.executable, os.path.abspath(__file__)]
        self.proc = subprocess.Popen(command + args, stdout=subprocess.PIPE if port is None else subprocess.DEVNULL,
                                     stderr=None if port is None else subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, text=True)
        if port is not None:
            if not _wait_until(lambda: _accepts(port) or self.proc.poll() is not None, 20) or \
                    self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("%s did not start" % what)
            return
        line = self.proc.stdout.readline().strip()
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError("%s did not start (%r)" % (what, line))

    def cpu_seconds(self):
        """User + system CPU time the process used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        """SIGTERM (a graceful stop), SIGKILL after 10 s; by the child's PID."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _wait_until(condition, timeout):
    """Poll ``condition()`` every 10 ms for up to ``timeout`` seconds; its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(0.01)
    return True


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


# -- measuring ----------------------------------------------------------------------------------

def rates(bus, apps, seconds, workers=CONCURRENCY, procs=None):
    """Requests/s of each of ``apps``' servers, measured over the same window: ``workers`` concurrent
    callers per server, all running at once (so a busy moment of the machine hits both alike)."""
    payload = Request("AsteriskInfo", Key()).encode()
    counts = {app: [0] * workers for app in apps}
    stop = [False]

    def worker(app, i):
        subject = "ari.data.%s.%s" % (app, ENTITY_ID)
        mine = counts[app]
        while not stop[0]:
            msg = bus.request(subject, payload, timeout=5)
            if b'"error":""' not in msg.data[:12]:
                raise RuntimeError(msg.data[:200])
            mine[i] += 1

    greenlets = [gevent.spawn(worker, app, i) for app in apps for i in range(workers)]
    gevent.sleep(0.2)                     # warm-up
    base = {app: sum(c) for app, c in counts.items()}
    cpu0 = {app: p.cpu_seconds() for app, p in (procs or {}).items()}
    started = time.perf_counter()
    gevent.sleep(seconds)
    done = {app: sum(c) - base[app] for app, c in counts.items()}
    cpu = {app: (p.cpu_seconds() - cpu0[app]) / max(1, done[app]) for app, p in (procs or {}).items()}
    elapsed = time.perf_counter() - started
    stop[0] = True
    gevent.joinall(greenlets, timeout=10)
    return {app: n / elapsed for app, n in done.items()}, cpu


def scraper(url, every, out):
    """Scrape ``url`` every ``every`` seconds; count the scrapes and bytes in ``out``."""
    while True:
        with urllib.request.urlopen(url, timeout=5) as r:
            out["bytes"] = len(r.read())
        out["scrapes"] += 1
        gevent.sleep(every)


def hook_cost(n=100000):
    """Microseconds the observer's hooks add to one request (begin, decoded, answered, replied, ARI call)."""
    from ariproxy.bus import Msg
    from ariproxy.protocol import Response
    from ariproxy.server.observer import RequestObserver
    obs = RequestObserver("ari.")
    msg = Msg("ari.data.bench-on." + ENTITY_ID, "_INBOX.x.1", Request("AsteriskInfo", Key()).encode())
    request = Request("AsteriskInfo", Key())
    response = Response()
    payload = response.encode()
    started = time.perf_counter()
    for _ in range(n):
        timed = obs.begin(msg)
        obs.decoded(timed, request)
        obs.ari_call("websocket", 0.0002)
        obs.answered(timed, response)
        obs.replied(timed, payload)
    return (time.perf_counter() - started) / n * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement (default 3)")
    parser.add_argument("--rounds", type=int, default=6, help="measuring windows (default 6)")
    parser.add_argument("--scrape-every", type=float, default=1.0, help="seconds between scrapes (default 1)")
    parser.add_argument("--calibrate", action="store_true",
                        help="A/A run: metrics off on both servers (how far apart two equal servers measure)")
    parser.add_argument("--serve-proxy", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_proxy:
        return serve_proxy(*args.serve_proxy)

    from ariproxy.server import metrics
    metrics.require()
    nats = NatsServer().start()
    children = []
    try:
        sim_port, http_port = free_port(), free_port()
        children.append(Child(["-m", "ariproxy.sim", "--port", str(sim_port), "--entity-id", ENTITY_ID],
                              "simulator", command=[sys.executable], port=sim_port))
        ari_url = "http://127.0.0.1:%d/ari" % sim_port
        http = "127.0.0.1:%d" % http_port
        server_on = Child(["--serve-proxy", ari_url, nats.url, "bench-on", "-" if args.calibrate else http],
                          "server with metrics")
        children.append(server_on)
        server_off = Child(["--serve-proxy", ari_url, nats.url, "bench-off", "-"], "server without metrics")
        children.append(server_off)
        procs = {"bench-on": server_on, "bench-off": server_off}
        bus = Bus(nats.url, name="bench-metrics")
        bus.connect()
        print("metrics on vs off: %d concurrent AsteriskInfo callers per server, both servers at once, REST "
              "over the websocket, %.1f s x %d rounds, /metrics scraped every %.1f s"
              % (CONCURRENCY, args.seconds, args.rounds, args.scrape_every))
        on, off, ratios, cpu_on, cpu_off = [], [], [], [], []
        scraped = {"scrapes": 0, "bytes": 0}
        g = gevent.spawn(scraper, "http://%s/metrics" % http, args.scrape_every, scraped) \
            if not args.calibrate else gevent.spawn(lambda: None)
        try:
            for i in range(args.rounds):
                got, cpu = rates(bus, ("bench-on", "bench-off"), args.seconds, procs=procs)
                on.append(got["bench-on"])
                off.append(got["bench-off"])
                ratios.append(on[-1] / off[-1])
                cpu_on.append(cpu["bench-on"] * 1e6)
                cpu_off.append(cpu["bench-off"] * 1e6)
                print("  round %d: on %7.0f req/s %5.1f us CPU/req   off %7.0f req/s %5.1f us CPU/req   on/off %.3f"
                      % (i + 1, on[-1], cpu_on[-1], off[-1], cpu_off[-1], ratios[-1]), flush=True)
        finally:
            g.kill()
        m_on, m_off = statistics.median(on), statistics.median(off)
        print("median: on %.0f req/s, off %.0f req/s; median of the rounds' on/off = %.3f (target >= 0.95); "
              "%d scrapes of %d bytes" % (m_on, m_off, statistics.median(ratios), scraped["scrapes"],
                                          scraped["bytes"]))
        print("server CPU per request (median): on %.1f us, off %.1f us"
              % (statistics.median(cpu_on), statistics.median(cpu_off)))
        cost = hook_cost()
        print("the hooks alone: %.2f us per request, %.1f%% of the %.0f us a request takes at the 'off' rate "
              "(one process's share of the machine)" % (cost, cost / (1e6 / m_off) * 100, 1e6 / m_off))
        bus.close()
    finally:
        for child in reversed(children):
            child.stop()
        nats.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
