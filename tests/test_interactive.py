"""Interactive use: ``ariproxy shell`` on a pseudo-terminal receives events while idle at its prompt.

The shell runs in a subprocess on a pty (what a user's terminal is), against a real
proxy, once as the plain console and once as IPython (skipped when IPython is not
installed); a callback typed at the prompt prints each StasisStart.  The test then places a
call from here and, typing nothing more, reads the callback's line from the terminal:
gevent ran while the prompt waited.  Ctrl-D leaves with status 0 and no traceback.
"""
import os
import pty
import subprocess
import sys
import time

import gevent
import gevent.select
import pytest

from ariproxy.client import Client

pytestmark = pytest.mark.timeout(120)

BINDIR = os.path.dirname(sys.executable)
ARIPROXY = os.path.join(BINDIR, "ariproxy")


class Terminal:
    """A subprocess on a pseudo-terminal; ``expect(text)`` reads until ``text`` appears."""

    def __init__(self, argv, env):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
                                     start_new_session=True)
        os.close(slave)
        self.seen = ""

    def _read(self, timeout):
        readable, _, _ = gevent.select.select([self.master], [], [], timeout)
        if not readable:
            return ""
        try:
            return os.read(self.master, 65536).decode("utf-8", "replace")
        except OSError:   # EIO: the other side is gone
            return ""

    def expect(self, text, timeout=30.0, since=0):
        deadline = time.monotonic() + timeout
        while text not in self.seen[since:]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no %r on the terminal within %.0fs; it shows:\n%s" % (text, timeout, self.seen))
            chunk = self._read(remaining)
            if not chunk and self.proc.poll() is not None:
                raise AssertionError("the shell exited (%s) before %r:\n%s" % (self.proc.returncode, text, self.seen))
            self.seen += chunk
        return self.seen.index(text, since) + len(text)

    def send(self, line):
        mark = len(self.seen)
        os.write(self.master, line.encode())
        return mark

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


PROMPTS = {"plain": ">>> ", "ipython": "]: ", "python-i": ">>> "}


@pytest.fixture(params=sorted(PROMPTS))
def shell(request, proxy):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARI", "NATS", "MESSAGEBUS"))}
    if request.param == "plain":
        env.update(ARIPROXY_SHELL_PLAIN="1", TERM="dumb")
    else:
        pytest.importorskip("IPython", reason="IPython is not installed (pip install ipython): its shell is untested")
        env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    program = [ARIPROXY] if os.access(ARIPROXY, os.X_OK) else [sys.executable, "-m", "ariproxy.cli"]
    argv = program + ["shell", "--app", proxy.application, "--nats-url", proxy.nats_url]
    if request.param == "python-i":
        # the documented way at a plain `python` prompt: ariproxy.interactive() first, then a client
        env["TERM"] = "dumb"
        argv = [sys.executable, "-i", "-q", "-c",
                "import ariproxy; ariproxy.interactive(); client = ariproxy.Client(application=%r, url=%r); "
                "print('Ctrl-D leaves.')" % (proxy.application, proxy.nats_url)]
    term = Terminal(argv, env)
    term.prompt = PROMPTS[request.param]
    yield term
    term.close()


def test_shell_receives_events_while_idle_at_the_prompt(proxy, shell):
    shell.expect("Ctrl-D leaves.")
    shell.expect(shell.prompt)
    mark = shell.send('cb = client.on("StasisStart", lambda e: print("LIVE", e.type, e.channel.id, flush=True))\n')
    mark = shell.expect(shell.prompt, since=mark)
    mark = shell.send("client.bus.flush()\n")
    mark = shell.expect(shell.prompt, since=mark)
    mark = shell.send('client.subscribe("StasisStrat")\n')
    mark = shell.expect("did you mean StasisStart", since=mark)
    mark = shell.expect(shell.prompt, since=mark)

    # the shell now sits at its prompt; nothing more is typed until the event shows
    with Client(application=proxy.application, url=proxy.nats_url) as caller:
        channel = caller.channels.originate(endpoint="Local/1000@default")
        channel.wait("StasisStart", timeout=10)
        shell.expect("LIVE StasisStart %s" % channel.id, since=mark)
        channel.hangup()

    # ping(wait=...) waits for the answers; then Ctrl-D (at the prompt: while code runs the terminal is
    # in cooked mode and would swallow it) leaves cleanly
    mark = shell.send('print("NODES", [n.node for n in client.ping(wait=0.5)])\n')
    mark = shell.expect("NODES ['%s']" % proxy.node, since=mark)
    shell.expect(shell.prompt, since=mark)
    shell.send("\x04")
    assert shell.proc.wait(timeout=30) == 0
    shell.seen += shell._read(0.5)
    assert "Traceback" not in shell.seen.split("did you mean StasisStart")[1]
