"""Request/reply throughput of ariproxy.bus vs pynats2's NATSClient.request vs nats-py (asyncio).

One run, one nats-server (started here on a free loopback port, stopped by
PID at the end) and one echo responder (an ariproxy.bus subscription in its
own process, the same for all three clients).  Prints sequential round trips
per second and requests per second with 10 concurrent workers (greenlets;
asyncio tasks for nats-py), the best of ``--rounds`` rounds each.

    .venv/bin/python bench/bus.py [--seconds 1] [--rounds 3]

nats-py is optional (``pip install nats-py``); its row says so when missing.
The asyncio client runs in a separate process so gevent's patching does not
touch its event loop.  pynats2's ``request()`` subscribes per call and
restarts its reader each time: with concurrent callers it fails (see
DESIGN.md), which its row reports instead of a figure.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from ariproxy.bus import Bus  # noqa: E402
from tests.support.nats import NatsServer, nats_binary  # noqa: E402

SUBJECT = "bench.echo"
PAYLOAD = b'{"kind":"ChannelData","key":{"kind":"channel","id":"1234.5"}}'
WORKERS = 10


def run_responder(url):
    """``--responder URL``: echo on SUBJECT until SIGTERM."""
    import signal

    import gevent.event
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    responder = Bus(url, name="bench-echo")
    responder.connect()
    responder.subscribe(SUBJECT, lambda msg: msg.respond(msg.data))
    responder.flush()
    print("ready", flush=True)
    stop.wait()
    responder.close()


def start_responder(url):
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--responder", url],
                            stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise SystemExit("the echo responder did not start")
    return proc


def stop_responder(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def best_of(rounds, measure):
    return max(measure() for _ in range(rounds))


def timed(call, seconds):
    """Run call() repeatedly for about ``seconds``; returns calls per second."""
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            call()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def concurrent(call, seconds, workers=WORKERS):
    """``workers`` greenlets calling call() for about ``seconds``; calls per second (raises the first failure)."""
    counts = [0] * workers
    deadline = time.perf_counter() + seconds

    def work(i):
        while time.perf_counter() < deadline:
            call()
            counts[i] += 1

    start = time.perf_counter()
    greenlets = [gevent.spawn(work, i) for i in range(workers)]
    gevent.joinall(greenlets, timeout=seconds * 3 + 10)
    elapsed = time.perf_counter() - start
    gevent.killall(greenlets)
    for g in greenlets:
        if g.exception is not None:
            raise g.exception
    return sum(counts) / elapsed


def bench_ariproxy(url, seconds, rounds):
    bus = Bus(url, name="bench-ariproxy")
    bus.connect()
    try:
        call = lambda: bus.request(SUBJECT, PAYLOAD, timeout=5)  # noqa: E731
        call()
        return (best_of(rounds, lambda: timed(call, seconds)),
                best_of(rounds, lambda: concurrent(call, seconds)))
    finally:
        bus.close()


def bench_pynats2(url, seconds, rounds):
    import logging

    import pynats2  # ariproxy.bus made it importable (pkg_resources stand-in) when needed
    client = pynats2.NATSClient(url, name="bench-pynats2")
    client.connect()
    call = lambda: client.request(SUBJECT, payload=PAYLOAD, timeout=5)  # noqa: E731
    call()
    seq = best_of(rounds, lambda: timed(call, seconds))
    # concurrent callers break it; keep its log lines and greenlet tracebacks off the report
    logging.getLogger("pynats2.client").setLevel(logging.CRITICAL)
    hub = gevent.get_hub()
    stream, hub.exception_stream = hub.exception_stream, None
    try:
        conc = concurrent(call, seconds)
    except Exception as e:  # noqa: BLE001 - a benchmark reports, it does not fail
        conc = "fails (%s)" % type(e).__name__
    try:
        with gevent.Timeout(5):
            client.close()
    except BaseException:  # noqa: BLE001
        pass
    finally:
        hub.exception_stream = stream
    return seq, conc


NATS_PY = r'''
import asyncio, json, sys, time
import nats

async def main(url, seconds, subject, payload, workers, rounds):
    nc = await nats.connect(url, name="bench-nats-py")
    async def call():
        await nc.request(subject, payload, timeout=5)
    await call()
    async def sequential():
        n = 0; start = time.perf_counter(); deadline = start + seconds
        while True:
            for _ in range(100):
                await call()
            n += 100
            now = time.perf_counter()
            if now >= deadline:
                return n / (now - start)
    async def concurrent():
        counts = [0] * workers
        deadline = time.perf_counter() + seconds
        async def work(i):
            while time.perf_counter() < deadline:
                await call(); counts[i] += 1
        start = time.perf_counter()
        await asyncio.gather(*(work(i) for i in range(workers)))
        return sum(counts) / (time.perf_counter() - start)
    seq = max([await sequential() for _ in range(rounds)])
    conc = max([await concurrent() for _ in range(rounds)])
    await nc.close()
    print(json.dumps([seq, conc]))

asyncio.run(main(sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4].encode(), int(sys.argv[5]),
                 int(sys.argv[6])))
'''


def bench_nats_py(url, seconds, rounds):
    try:
        import nats  # noqa: F401
    except ImportError:
        return "not installed", "not installed"
    out = subprocess.run([sys.executable, "-c", NATS_PY, url, str(seconds), SUBJECT, PAYLOAD.decode(),
                          str(WORKERS), str(rounds)],
                         capture_output=True, text=True, timeout=seconds * rounds * 4 + 30)
    if out.returncode != 0:
        return "failed", out.stderr.strip().splitlines()[-1:]
    return tuple(json.loads(out.stdout))


def fmt(value):
    return "%10.0f" % value if isinstance(value, float) else "%10s" % value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="duration of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per figure (the best is shown)")
    parser.add_argument("--responder", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.responder:
        return run_responder(args.responder)
    server = NatsServer().start()
    try:
        responder = start_responder(server.url)
        try:
            results = [
                ("ariproxy.bus", bench_ariproxy(server.url, args.seconds, args.rounds)),
                ("pynats2 NATSClient.request", bench_pynats2(server.url, args.seconds, args.rounds)),
                ("nats-py (asyncio)", bench_nats_py(server.url, args.seconds, args.rounds)),
            ]
        finally:
            stop_responder(responder)
    finally:
        server.cleanup()
    version = subprocess.run([nats_binary(), "--version"], capture_output=True, text=True).stdout.strip()
    print("request/reply via one %s on loopback; echo responder: ariproxy.bus in its own process" % version)
    print("%d-byte payload, best of %d x %.1fs per figure, %d workers for the concurrent one"
          % (len(PAYLOAD), args.rounds, args.seconds, WORKERS))
    print("%-28s %14s %20s" % ("client", "sequential/s", "%d concurrent/s" % WORKERS))
    for name, (seq, conc) in results:
        print("%-28s %14s %20s" % (name, fmt(seq), fmt(conc)))
    ours, theirs = results[0][1], results[1][1]
    if isinstance(theirs[0], float):
        print("ariproxy.bus / pynats2 sequential: %.1fx" % (ours[0] / theirs[0]))
    nats_py = results[2][1]
    if isinstance(nats_py[0], float):
        print("ariproxy.bus / nats-py: sequential %.2fx, concurrent %.2fx"
              % (ours[0] / nats_py[0], ours[1] / nats_py[1]))


if __name__ == "__main__":
    main()
