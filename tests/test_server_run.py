"""``Server.run()`` in a process of its own: serves, and SIGTERM stops it gracefully with status 0."""
import os
import signal
import subprocess
import sys

from ariproxy import jsonutil
from ariproxy.bus import Bus
from ariproxy.sim.server import Simulator
from tests.support.wait import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
from gevent import monkey; monkey.patch_all()
import sys
from ariproxy.server import Server
sys.exit(Server(ari_url=sys.argv[1], nats_url=sys.argv[2], application="runapp", announce_interval=0.05).run())
"""


def test_run_serves_until_sigterm_then_exits_0(nats_server):
    sim = Simulator().start()
    bus = Bus(nats_server.url)
    bus.connect()
    announced = []
    bus.subscribe("ari.announce", lambda msg: announced.append(jsonutil.loads(msg.data)))
    bus.flush()
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, sim.url, nats_server.url], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: (sim.entity_id, "runapp") in [(a["node"], a["application"]) for a in announced],
                 timeout=15)
        reply = bus.request("ari.data.runapp." + sim.entity_id, b'{"kind":"AsteriskInfo","key":{}}', timeout=2)
        assert jsonutil.loads(reply.data)["error"] == ""
        os.kill(proc.pid, signal.SIGTERM)
        wait_for(lambda: proc.poll() is not None, timeout=15)
        assert proc.returncode == 0, proc.stderr.read().decode(errors="replace")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
        proc.stderr.close()
        bus.close()
        sim.stop()
