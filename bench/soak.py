"""Soak: N minutes of call churn through the proxy on two simulated Asterisk nodes.

Processes (started here on free loopback ports, stopped by PID): nats-server, two simulators
(``python -m ariproxy.sim``, Asterisk's 100 ms websocket write timeout on), two ari-proxy servers
(``ari-proxy --foreground``, one per node, application ``soak``); the calling client is this
process.  Each of ``--workers`` greenlets runs calls in a loop, alternating nodes, every call in a
dialog of its own: originate, StasisStart, answer, play (PlaybackFinished), bridge with a second
channel, DTMF (ChannelDtmfReceived), record (RecordingStarted, stop), hang up both (ChannelDestroyed),
destroy the bridge.

Reported every minute (or every ``--every`` seconds): calls completed, errors, events lost per
application (events the simulators sent minus those a counting subscription received, once both
are quiet; of those, the ones the simulators' write timeout dropped are counted apart too), RSS of
each server and of this client.  Targets: zero lost events while NATS is up,
memory flat within 10% after warm-up.

    .venv/bin/python bench/soak.py [--minutes 10] [--workers 4] [--every 60]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import collections  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from ariproxy import errors  # noqa: E402
from ariproxy.bus import Bus  # noqa: E402
from ariproxy.client import Client  # noqa: E402
from ariproxy.protocol import GAP_EVENT  # noqa: E402
from tests.support.nats import NatsServer, _die_with_parent, free_port  # noqa: E402
from tests.support.simproc import SimProcess  # noqa: E402

APP = "soak"
NODES = ("02:fc:00:00:50:0a", "02:fc:00:00:50:0b")
WAIT = 10.0


def rss_kb(pid):
    """Resident set size of process ``pid`` in KiB (0 when it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class ServerProcess:
    """``ari-proxy --foreground`` for one simulator, stopped by PID."""

    def __init__(self, sim, nats_url, log_path):
        self.sim = sim
        self.nats_url = nats_url
        self.log_path = log_path
        self.proc = None

    def start(self):
        exe = os.path.join(os.path.dirname(sys.executable), "ari-proxy")
        cmd = [exe, "--foreground", "--no-config", "--ari-url", self.sim.url, "--application", APP,
               "--nats-url", self.nats_url, "--log-level", "warning", "--announce-interval", "5"]
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=env, preexec_fn=_die_with_parent)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


class EventCounter:
    """Counts every event of the application as NATS delivers it (gap markers apart)."""

    def __init__(self, url):
        self.bus = Bus(url, name="soak-counter")
        self.bus.connect()
        self.by_node = collections.Counter()
        self.gaps = 0
        self.sub = self.bus.subscribe("ari.event.%s.>" % APP, self._on, max_pending=1000000,
                                      max_pending_bytes=1 << 30)
        self.bus.flush()

    def _on(self, msg):
        if GAP_EVENT.encode() in msg.data[:200]:
            self.gaps += 1
            return
        self.by_node[msg.subject.rsplit(".", 1)[1]] += 1

    @property
    def total(self):
        return sum(self.by_node.values())

    def close(self):
        self.bus.close()


class Churn:
    """The calling greenlets and their counters."""

    def __init__(self, client):
        self.client = client
        self.completed = 0
        self.errors = collections.Counter()
        self._stop = False
        self._seq = 0

    def one_call(self, node):
        c = self.client
        self._seq += 1
        dialog = "soak-%d-%d" % (os.getpid(), self._seq)
        ch = c.channels.originate(endpoint="Local/100@default", node=node, dialog=dialog)
        try:
            ch.wait("StasisStart", timeout=WAIT)
            ch.answer()
            pb = ch.play("sound:hello-world")
            pb.wait("PlaybackFinished", timeout=WAIT)
            other = c.channels.originate(endpoint="Local/200@default", node=node, dialog=dialog)
            other.wait("StasisStart", timeout=WAIT)
            bridge = c.bridges.create(node=node, dialog=dialog)
            try:
                bridge.add_channel(ch)
                bridge.add_channel(other)
                with ch.subscribe("ChannelDtmfReceived") as dtmf:
                    ch.send_dtmf("1", between=0.01, duration=0.01)
                    dtmf.wait("ChannelDtmfReceived", timeout=WAIT)
                rec = ch.record(max_duration=5, if_exists="overwrite")
                rec.wait("RecordingStarted", timeout=WAIT)
                rec.stop()
                other.hangup()
                other.wait("ChannelDestroyed", timeout=WAIT)
            finally:
                bridge.destroy()
        finally:
            try:
                ch.hangup()
            except errors.NotFound:
                pass
        ch.wait("ChannelDestroyed", timeout=WAIT)
        self.completed += 1

    def worker(self, index):
        n = index
        while not self._stop:
            node = NODES[n % len(NODES)]
            n += 1
            try:
                self.one_call(node)
            except Exception as e:  # counted and reported; the soak goes on
                self.errors["%s: %s" % (type(e).__name__, str(e)[:80])] += 1
                gevent.sleep(0.1)

    def stop(self):
        self._stop = True


def sim_counts(sims):
    """(events the simulators handed to their websockets, frames their write timeout dropped)."""
    states = [s.state() for s in sims]
    return sum(st["events_sent"] for st in states), sum(st["websocket_dropped"] for st in states)


def lost_events(sims, counter, baseline, quiet=2.0, timeout=30.0):
    """Events the simulators sent that the counter did not receive, once neither side has moved for
    ``quiet`` seconds: ``{app: lost}``, the sent total, and how many of them the write timeout dropped."""
    deadline = time.monotonic() + timeout
    last, still_since = None, time.monotonic()
    while True:
        sent, dropped = sim_counts(sims)
        sent, dropped = sent - baseline[0], dropped - baseline[1]
        now = (sent, dropped, counter.total)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet or time.monotonic() > deadline:
            return {APP: sent - counter.total}, sent, dropped
        gevent.sleep(0.2)


def run(seconds, workers=4, every=60.0, out=print):
    """Run the soak for ``seconds``; returns the summary dict (see the module docstring)."""
    import logging
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    nats = NatsServer().start()
    sims, servers = [], []
    counter = client = None
    tmp = nats.tmpdir
    try:
        for node in NODES:
            sims.append(SimProcess(entity_id=node, extra_args=["--app", APP]).start())
        for i, sim in enumerate(sims):
            servers.append(ServerProcess(sim, nats.url, os.path.join(tmp, "server-%d.log" % i)).start())
        counter = EventCounter(nats.url)
        client = Client(application=APP, url=nats.url, timeout=5.0, retries=0)
        deadline = time.monotonic() + 30
        while len(client.nodes(APP)) < len(NODES):
            if time.monotonic() > deadline:
                raise RuntimeError("servers not announcing within 30 s (logs in %s)" % tmp)
            client.ping()
            gevent.sleep(0.2)
        baseline = sim_counts(sims)
        counter.by_node.clear()
        churn = Churn(client)
        greenlets = [gevent.spawn(churn.worker, i) for i in range(workers)]
        started = time.monotonic()
        samples = []

        def sample():
            row = {"t": round(time.monotonic() - started), "calls": churn.completed,
                   "errors": sum(churn.errors.values()),
                   "server_rss_kb": [rss_kb(s.pid) for s in servers], "client_rss_kb": rss_kb(os.getpid())}
            samples.append(row)
            out("t=%4ds calls=%6d errors=%4d server RSS %s MB, client RSS %.1f MB" % (
                row["t"], row["calls"], row["errors"],
                "/".join("%.1f" % (kb / 1024.0) for kb in row["server_rss_kb"]), row["client_rss_kb"] / 1024.0))

        sample()
        while time.monotonic() - started < seconds:
            gevent.sleep(min(every, max(0.0, seconds - (time.monotonic() - started))))
            sample()
        churn.stop()
        gevent.joinall(greenlets, timeout=60)
        lost, sent, dropped = lost_events(sims, counter, baseline)
        summary = {"seconds": round(time.monotonic() - started, 1), "calls": churn.completed,
                   "errors": dict(churn.errors), "events_sent": sent, "events_received": counter.total,
                   "lost": lost, "write_timeout_dropped": dropped, "gap_markers": counter.gaps,
                   "samples": samples}
        out("calls completed %d, errors %d, events sent %d, received %d, lost per application %s (dropped by "
            "the simulators' write timeout %d), gap markers %d"
            % (churn.completed, sum(churn.errors.values()), sent, counter.total, lost, dropped, counter.gaps))
        for text, n in churn.errors.most_common(5):
            out("  error x%d: %s" % (n, text))
        return summary
    finally:
        if client is not None:
            client.close()
        if counter is not None:
            counter.close()
        for s in servers:
            s.stop()
        for s in sims:
            s.stop()
        nats.cleanup()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to churn (default 10)")
    parser.add_argument("--workers", type=int, default=4, help="calls in progress at once (default 4)")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between reports (default 60)")
    args = parser.parse_args(argv)
    summary = run(args.minutes * 60.0, workers=args.workers, every=args.every)
    ok = not any(summary["lost"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
