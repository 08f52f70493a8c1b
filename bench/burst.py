"""Burst: N big requests at once at an ari-proxy server, with one and with several intake connections.

Processes (started here on free loopback ports, stopped by PID): nats-server, a simulator
(``python -m ariproxy.sim``), an ari-proxy server (``ari-proxy --foreground``) per row, and the
publisher (``tests/support/blast.py``: four NATS connections, one greenlet per request, all sent at
once).  Each request is a ChannelHangup whose reason is SIZE bytes long (answered "bad request" when
the server takes it, "busy" when it refuses it).  A row reports the requests answered, those left
without a reply (the publisher's timeout), how often nats-server cut the server as a slow consumer,
the server's peak RSS and how long the burst took.  The floor row is the same burst at a bare
subscriber that only answers (``ariproxy.bus``, one connection), in the same run.

    .venv/bin/python bench/burst.py [--requests 1000] [--size 921600] [--intake 1,8] [--timeout 10]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from tests.support.nats import NatsServer  # noqa: E402
from tests.support.simproc import SimProcess, stop_process  # noqa: E402

APP = "burst"
BIN = os.path.join(ROOT, "bin", "ari-proxy")

_FLOOR = """
import sys
from gevent import monkey; monkey.patch_all()
import gevent
from ariproxy.bus import Bus
bus = Bus(sys.argv[1], name="floor"); bus.connect()
answer = lambda msg: bus.publish(msg.reply, b'{"error":"busy"}')
bus.subscribe(sys.argv[2], answer, max_pending=2, on_overflow=answer)
bus.flush()
print("ready", flush=True)
while True:
    gevent.sleep(60)
"""


def _blast(nats, subject, n, size, timeout):
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tests.support.blast", nats.url, subject, str(n), str(size),
                           str(timeout)], cwd=ROOT, capture_output=True, timeout=timeout + 600)
    if done.returncode:
        raise SystemExit("blast failed: %s" % done.stderr.decode()[-2000:])
    return json.loads(done.stdout), time.monotonic() - began


def _cuts(nats, before):
    return nats.log_tail(100000).count("Slow Consumer") - before


def _peak_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _row(label, summary, seconds, cuts, rss_kb):
    unanswered = sum(summary["exceptions"].values())
    print("  %-28s %9d %11d %6d %10s %8.1f" % (label, summary["answers"], unanswered, cuts,
                                              "%.0f MB" % (rss_kb / 1024.0) if rss_kb else "-", seconds), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests in the burst (default 1000)")
    parser.add_argument("--size", type=int, default=900 * 1024, help="bytes per request (default 921600)")
    parser.add_argument("--intake", default="1,8", help="nats_intake_connections per row (default 1,8)")
    parser.add_argument("--timeout", type=float, default=10.0, help="publisher's timeout per request (s)")
    args = parser.parse_args(argv)
    nats = NatsServer().start()
    sim = SimProcess().start()
    try:
        print("burst of %d requests of %d bytes at once, from another process (4 NATS connections)"
              % (args.requests, args.size))
        print("  %-28s %9s %11s %6s %10s %8s" % ("", "answered", "no answer", "cuts", "peak RSS", "seconds"))
        subject = "ari.command.%s" % APP
        floor = subprocess.Popen([sys.executable, "-c", _FLOOR, nats.url, subject], cwd=ROOT,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        try:
            floor.stdout.readline()
            before = _cuts(nats, 0)
            summary, seconds = _blast(nats, subject, args.requests, args.size, args.timeout)
            _row("floor: bare bus subscriber", summary, seconds, _cuts(nats, before), _peak_rss_kb(floor.pid))
        finally:
            stop_process(floor)
        for intake in [int(x) for x in args.intake.split(",") if x.strip()]:
            log_file = os.path.join(nats.tmpdir, "ari-proxy-%d.log" % intake)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("ARI_", "NATS_", "ARIPROXY_"))}
            proc = subprocess.Popen([sys.executable, BIN, "--foreground", "--no-config", "--ari-url", sim.url,
                                     "--application", APP, "--nats-url", nats.url, "--log-file", log_file,
                                     "--nats-intake-connections", str(intake)], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    if os.path.exists(log_file) and "serving application" in open(log_file).read():
                        break
                    if proc.poll() is not None:
                        raise SystemExit("ari-proxy exited: %s" % open(log_file).read()[-2000:])
                    time.sleep(0.05)
                before = _cuts(nats, 0)
                summary, seconds = _blast(nats, subject, args.requests, args.size, args.timeout)
                _row("ari-proxy, %d intake conn." % intake, summary, seconds, _cuts(nats, before),
                     _peak_rss_kb(proc.pid))
            finally:
                stop_process(proc)
    finally:
        sim.stop()
        nats.cleanup()


if __name__ == "__main__":
    sys.exit(main())
