"""Request/reply throughput of ariproxy.bus vs pynats2's NATSClient.request vs nats-py (asyncio).

One run, one nats-server (started here on a free loopback port, stopped by
PID at the end), one echo responder per client under test (an ariproxy.bus
subscription on its own connection, the same code for all three).  Prints
sequential round trips per second and requests per second with 10
concurrent workers (greenlets, threads for pynats2, asyncio tasks for
nats-py).

    .venv/bin/python bench/bus.py [--seconds 2]

nats-py is optional (``pip install nats-py``); its column says so when missing.
The asyncio client runs in a separate process so gevent's patching does not
touch its event loop.
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
from tests.support.nats import NatsServer  # noqa: E402

SUBJECT = "bench.echo"
PAYLOAD = b'{"kind":"ChannelData","key":{"kind":"channel","id":"1234.5"}}'
WORKERS = 10


def start_responder(url):
    responder = Bus(url, name="bench-echo")
    responder.connect()
    responder.subscribe(SUBJECT, lambda msg: msg.respond(msg.data))
    responder.flush()
    return responder


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
    counts = [0] * workers
    deadline = time.perf_counter() + seconds

    def work(i):
        while time.perf_counter() < deadline:
            call()
            counts[i] += 1

    start = time.perf_counter()
    gevent.joinall([gevent.spawn(work, i) for i in range(workers)], raise_error=True)
    return sum(counts) / (time.perf_counter() - start)


def bench_ariproxy(url, seconds):
    bus = Bus(url, name="bench-ariproxy")
    bus.connect()
    try:
        call = lambda: bus.request(SUBJECT, PAYLOAD, timeout=5)  # noqa: E731
        call()
        return timed(call, seconds), concurrent(call, seconds)
    finally:
        bus.close()


def bench_pynats2(url, seconds):
    import pynats2  # ariproxy.bus made it importable (pkg_resources stand-in) when needed
    client = pynats2.NATSClient(url, name="bench-pynats2")
    client.connect()
    try:
        call = lambda: client.request(SUBJECT, payload=PAYLOAD, timeout=5)  # noqa: E731
        call()
        seq = timed(call, seconds)
        # its request() subscribes per call and restarts its reader thread: with concurrent
        # callers it misroutes or wedges (DESIGN.md), so the concurrent figure is best effort
        try:
            conc = concurrent(call, seconds)
        except Exception as e:  # noqa: BLE001 - a benchmark reports, it does not fail
            conc = "failed: %s" % type(e).__name__
        return seq, conc
    finally:
        try:
            client.close()
        except Exception:  # noqa: BLE001
            pass


NATS_PY = r'''
import asyncio, json, sys, time
import nats

async def main(url, seconds, subject, payload, workers):
    nc = await nats.connect(url, name="bench-nats-py")
    async def call():
        await nc.request(subject, payload, timeout=5)
    await call()
    n = 0; start = time.perf_counter(); deadline = start + seconds
    while True:
        for _ in range(100):
            await call()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            break
    seq = n / (now - start)
    counts = [0] * workers
    deadline = time.perf_counter() + seconds
    async def work(i):
        while time.perf_counter() < deadline:
            await call(); counts[i] += 1
    start = time.perf_counter()
    await asyncio.gather(*(work(i) for i in range(workers)))
    conc = sum(counts) / (time.perf_counter() - start)
    await nc.close()
    print(json.dumps([seq, conc]))

asyncio.run(main(sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4].encode(), int(sys.argv[5])))
'''


def bench_nats_py(url, seconds):
    try:
        import nats  # noqa: F401
    except ImportError:
        return "not installed", "not installed"
    out = subprocess.run([sys.executable, "-c", NATS_PY, url, str(seconds), SUBJECT, PAYLOAD.decode(), str(WORKERS)],
                         capture_output=True, text=True, timeout=seconds * 4 + 30)
    if out.returncode != 0:
        return "failed", out.stderr.strip().splitlines()[-1:]
    return tuple(json.loads(out.stdout))


def fmt(value):
    return "%10.0f" % value if isinstance(value, float) else "%10s" % value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each measurement")
    args = parser.parse_args()
    server = NatsServer().start()
    try:
        responder = start_responder(server.url)
        results = [
            ("ariproxy.bus", bench_ariproxy(server.url, args.seconds)),
            ("pynats2 NATSClient.request", bench_pynats2(server.url, args.seconds)),
            ("nats-py (asyncio)", bench_nats_py(server.url, args.seconds)),
        ]
        responder.close()
    finally:
        server.cleanup()
    print("request/reply on one nats-server (%s), %d-byte payload, %.1fs per figure"
          % (server.url, len(PAYLOAD), args.seconds))
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
