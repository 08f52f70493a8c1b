"""Event burst rate of the simulator to one websocket client.

    .venv/bin/python bench/sim.py [--events 100000] [--runs 3]

Starts a Simulator in a child process, connects one websocket-client (with
skip_utf8_validation=True) from this (unpatched) process, asks for a burst of
N events over ``POST /_sim/burst`` and prints events/s from the request to the
last event received (target: >= 20,000/s).
"""
import argparse
import os
import subprocess
import sys
import threading
import time
import urllib.request

import websocket

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    # the server runs in its own process (as Asterisk would), with gevent fully patched
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        port = int(proc.stdout.readline().strip())
        ws = websocket.create_connection("ws://127.0.0.1:%d/ari/events?app=bench&api_key=asterisk:asterisk" % port,
                                         skip_utf8_validation=True)
        rates = []
        for _ in range(args.runs):
            done = threading.Event()
            got = [0, 0.0, 0.0]

            def reader():
                n = 0
                first = None
                while n < args.events:
                    ws.recv()
                    if first is None:
                        first = time.perf_counter()
                    n += 1
                got[0] = n
                got[1] = first
                got[2] = time.perf_counter()
                done.set()
            t = threading.Thread(target=reader)
            t.start()
            t0 = time.perf_counter()
            urllib.request.urlopen("http://127.0.0.1:%d/_sim/burst?n=%d&app=bench" % (port, args.events)).read()
            done.wait(120)
            t.join()
            elapsed = got[2] - t0
            rates.append(args.events / elapsed)
            print("burst of %d events received in %.3fs: %.0f events/s" % (args.events, elapsed, rates[-1]))
        print("best %.0f events/s, median %.0f events/s (target >= 20000)" % (max(rates), sorted(rates)[len(rates) // 2]))
        ws.close()
    finally:
        proc.terminate()
        proc.wait(5)


_SERVER = """
from gevent import monkey; monkey.patch_all()
import gevent
from ariproxy.sim import Simulator
sim = Simulator(port=0).start()
print(sim.port, flush=True)
gevent.wait()
"""

if __name__ == "__main__":
    main()
