"""The ``ari-proxy`` daemon as a user runs it: real processes, real nats-server, the real simulator.

Each test starts ``bin/ari-proxy`` (or the LSB init script) as a subprocess,
waits on conditions (log lines, pidfile, announcements on NATS, process
exit) with timeouts, and stops what it started by PID.
"""
import os
import signal
import socket
import subprocess
import sys

import pytest
from gevent.event import Event

from ariproxy.bus import Bus
from ariproxy.jsonutil import loads
from tests.support.secrets import ARI_PASSWORD as ARI_SECRET, NATS_PASSWORD as NATS_SECRET
from tests.support.wait import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, "bin", "ari-proxy")
INIT = os.path.join(REPO, "conf", "ari-proxy.init")
VENV_SCRIPT = os.path.join(os.path.dirname(sys.executable), "ari-proxy")
START = 30.0   # generous: a loaded CI box imports gevent, requests... in the child


def clean_env(**extra):
    """This environment minus anything that would configure the daemon, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ARI", "NATS", "MESSAGEBUS", "VERBOSE", "NOTIFY_SOCKET"))}
    env.update(extra)
    return env


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def gone(pid):
    """True when ``pid`` has exited (a zombie counts: it is not our child to reap)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def kill_if_alive(pid):
    if pid and not gone(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def announcements(nats_url, prefix="ari.", timeout=10.0):
    """Publish ``<prefix>ping`` with a raw bus and return the announcements that answer it."""
    bus = Bus(servers=nats_url, name="test-daemon")
    bus.connect()
    got, arrived = [], Event()

    def on_announce(msg):
        got.append(loads(msg.data))
        arrived.set()

    try:
        bus.subscribe(prefix + "announce", on_announce)
        bus.flush()
        bus.publish(prefix + "ping", b'{"kind":"","key":null}')
        arrived.wait(timeout)
    finally:
        bus.close()
    return got


@pytest.fixture
def simulator():
    """A simulator requiring a non-default ARI password (so the logs can be searched for it)."""
    from ariproxy.sim import Simulator
    sim = Simulator(host="127.0.0.1", port=0, entity_id="02:fc:00:00:00:07", password=ARI_SECRET)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def auth_nats(nats_factory):
    """A nats-server with user/password; its URL with credentials is ``.auth_url``."""
    return nats_factory(user="proxy", password=NATS_SECRET)


class Daemon:
    """One ``bin/ari-proxy`` process with a log file and a pidfile in ``tmp_path``."""

    def __init__(self, tmp_path, *args, env=None):
        self.log_file = str(tmp_path / "ari-proxy.log")
        self.pidfile = str(tmp_path / "ari-proxy.pid")
        self.stderr_file = str(tmp_path / "stderr.txt")
        self.args = ["--no-config", "--log-file", self.log_file, "--pidfile", self.pidfile] + list(args)
        self.env = env or clean_env()
        self.proc = None

    def start(self, *mode):
        with open(self.stderr_file, "ab") as err:
            self.proc = subprocess.Popen([sys.executable, BIN] + list(mode or ("--foreground",)) + self.args,
                                         env=self.env, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        return self

    def log(self):
        return read(self.log_file)

    def wait_log(self, text, timeout=START):
        def seen():
            if self.proc is not None and self.proc.poll() is not None and text not in self.log():
                raise AssertionError("ari-proxy exited with %s before logging %r:\n%s%s"
                                     % (self.proc.returncode, text, self.log(), read(self.stderr_file)))
            return text in self.log()
        wait_for(seen, timeout, message="no %r in the log:\n%s%s" % (text, self.log(), read(self.stderr_file)))

    def ready_line(self):
        self.wait_log("ready: serving application")
        return next(line for line in self.log().splitlines() if "ready: serving application" in line)

    def daemon_pid(self):
        return int(read(self.pidfile).strip() or 0)

    def cleanup(self):
        """SIGTERM first (a failed test's daemon still stops its embedded nats-server and removes
        its temp dir), SIGKILL after 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.exists(self.pidfile):
            pid = self.daemon_pid()
            if pid and not gone(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                    wait_for(lambda: gone(pid), timeout=10)
                except (ProcessLookupError, AssertionError):
                    pass
            kill_if_alive(pid)


@pytest.fixture
def daemon_factory(tmp_path):
    made = []

    def make(*args, env=None):
        d = Daemon(tmp_path, *args, env=env)
        made.append(d)
        return d

    yield make
    for d in made:
        d.cleanup()


def test_foreground_serves_pings_and_sigterm_exits_0(daemon_factory, simulator, auth_nats, tmp_path):
    notify_path = str(tmp_path / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    d = daemon_factory("--ari-url", simulator.url, "--application", "demo", "--nats-url", auth_nats.auth_url,
                       env=clean_env(ARI_PASSWORD=ARI_SECRET, NOTIFY_SOCKET=notify_path))
    d.start("--foreground")
    line = d.ready_line()
    assert "application demo as node 02:fc:00:00:00:07" in line
    assert "nats://proxy:***@127.0.0.1:%d" % auth_nats.port in line
    assert d.daemon_pid() == d.proc.pid
    # systemd readiness (Type=notify) arrives once serving
    notify.settimeout(START)
    while b"READY=1" not in notify.recv(4096):   # STATUS= updates may come first
        pass
    notify.close()

    got = announcements(auth_nats.auth_url)
    assert ("02:fc:00:00:00:07", "demo") in [(a["node"], a["application"]) for a in got]
    # the one-shot check the ready log line suggests
    ping = subprocess.run([sys.executable, BIN, "--ping", "--no-config", "--nats-url", auth_nats.auth_url],
                          env=clean_env(), capture_output=True, text=True, timeout=START)
    assert ping.returncode == 0, ping.stderr
    assert "node 02:fc:00:00:00:07 application demo" in ping.stdout

    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=START) == 0
    assert not os.path.exists(d.pidfile)
    log = d.log()
    assert "SIGTERM: stopping" in log
    assert ARI_SECRET not in log and NATS_SECRET not in log
    assert ARI_SECRET not in read(d.stderr_file) and NATS_SECRET not in read(d.stderr_file)


def test_daemon_detaches_reopens_its_log_on_sighup_and_stops(daemon_factory, simulator, nats_server, tmp_path):
    d = daemon_factory("--ari-url", simulator.url, "--nats-url", nats_server.url,
                       env=clean_env(ARI_PASSWORD=ARI_SECRET))
    d.start("--daemon")
    # the launcher returns once the daemon wrote its pidfile
    assert d.proc.wait(timeout=START) == 0, read(d.stderr_file)
    launcher, d.proc = d.proc, None     # from here on the daemon is watched by its pid
    pid = d.daemon_pid()
    assert pid and pid != launcher.pid and not gone(pid)
    assert os.getsid(pid) != os.getsid(0)              # own session: no controlling terminal of ours
    assert os.getsid(pid) != pid                       # not a session leader: can never get one
    assert os.readlink("/proc/%d/cwd" % pid) == "/"
    assert os.readlink("/proc/%d/fd/0" % pid) == os.devnull
    d.ready_line()
    assert announcements(nats_server.url)

    # logrotate: rename, HUP, the daemon writes to a new file at the old path
    rotated = str(tmp_path / "ari-proxy.log.1")
    os.rename(d.log_file, rotated)
    os.kill(pid, signal.SIGHUP)
    d.wait_log("SIGHUP: log file reopened")
    assert "SIGHUP" not in read(rotated) and "ready: serving" in read(rotated)

    # a second instance on the same pidfile is refused while this one lives
    second = subprocess.run([sys.executable, BIN, "--daemon"] + d.args, env=d.env, capture_output=True,
                            text=True, timeout=START)
    assert second.returncode == 1 and "already running as pid %d" % pid in second.stderr

    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: gone(pid), START, message="daemon %d did not exit on SIGTERM" % pid)
    assert not os.path.exists(d.pidfile)
    assert "server stopped" in d.log()


def test_stale_pidfile_is_replaced(daemon_factory, simulator, nats_server):
    d = daemon_factory("--ari-url", simulator.url, "--nats-url", nats_server.url,
                       env=clean_env(ARI_PASSWORD=ARI_SECRET))
    proc = subprocess.Popen(["true"])
    proc.wait()
    with open(d.pidfile, "w") as f:
        f.write("%d\n" % proc.pid)
    d.start("--foreground")
    d.ready_line()
    assert d.daemon_pid() == d.proc.pid
    assert "replaced stale pidfile" in d.log()
    d.proc.send_signal(signal.SIGINT)
    assert d.proc.wait(timeout=START) == 0
    assert not os.path.exists(d.pidfile)


def test_init_script_start_status_reload_stop(simulator, nats_server, tmp_path):
    daemon = VENV_SCRIPT if os.access(VENV_SCRIPT, os.X_OK) else BIN
    config = tmp_path / "ari-proxy.conf"
    config.write_text("[ari]\nari_url = %s\nari_password = %s\napplication = initapp\n[nats]\nnats_url = %s\n"
                      % (simulator.url, ARI_SECRET, nats_server.url))
    pidfile, logfile = tmp_path / "run" / "ari-proxy.pid", tmp_path / "ari-proxy.log"
    pidfile.parent.mkdir()
    defaults = tmp_path / "default-ari-proxy"
    defaults.write_text('DAEMON="%s"\nCONFIG="%s"\nPIDFILE="%s"\nLOGFILE="%s"\nSTOP_TIMEOUT=20\n'
                        % (daemon, config, pidfile, logfile))
    env = clean_env(ARIPROXY_DEFAULTS=str(defaults))

    def init(action):
        return subprocess.run(["bash", INIT, action], env=env, capture_output=True, text=True, timeout=60)

    assert init("status").returncode == 3
    started = init("start")
    pid = 0
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        pid = int(pidfile.read_text())
        assert "started (pid %d)" % pid in started.stdout
        status = init("status")
        assert status.returncode == 0 and "running (pid %d)" % pid in status.stdout
        wait_for(lambda: "ready: serving application initapp" in read(logfile), START,
                 message="not ready:\n" + read(logfile))
        assert ("02:fc:00:00:00:07", "initapp") in [(a["node"], a["application"])
                                                    for a in announcements(nats_server.url)]
        assert init("start").stdout.strip() == "ari-proxy already running (pid %d)" % pid

        os.rename(logfile, str(logfile) + ".1")
        assert init("reload").returncode == 0
        wait_for(lambda: "SIGHUP: log file reopened" in read(logfile), START)

        restarted = init("restart")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert gone(pid)
        pid = int(pidfile.read_text())
        assert "started (pid %d)" % pid in restarted.stdout and not gone(pid)

        stopped = init("stop")
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        assert gone(pid) and not pidfile.exists()
        assert init("status").returncode == 3
        assert init("stop").returncode == 0          # stopping a stopped service is fine (LSB)
        assert ARI_SECRET not in read(logfile) + read(str(logfile) + ".1")
    finally:
        kill_if_alive(pid)


def test_init_script_reports_a_dead_daemon(tmp_path):
    pidfile = tmp_path / "ari-proxy.pid"
    proc = subprocess.Popen(["true"])
    proc.wait()
    pidfile.write_text("%d\n" % proc.pid)
    defaults = tmp_path / "defaults"
    defaults.write_text('PIDFILE="%s"\nDAEMON="%s"\n' % (pidfile, BIN))
    result = subprocess.run(["bash", INIT, "status"], env=clean_env(ARIPROXY_DEFAULTS=str(defaults)),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "not running but" in result.stdout
    result = subprocess.run(["bash", INIT, "reload"], env=clean_env(ARIPROXY_DEFAULTS=str(defaults)),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 7


def test_embedded_mode_starts_nats_and_simulator_and_stops_them(daemon_factory, tmp_path, nats_server):
    # a NATS answers at some address: embedded mode must still start (and use) its own
    d = daemon_factory("--embedded", "--no-demo-call", env=clean_env(HOME=str(tmp_path)))
    d.start("--foreground")
    line = d.ready_line()
    nats_url = line.split(" on NATS ")[1].split(" ")[0]
    assert nats_url != nats_server.url and nats_url != "nats://127.0.0.1:4222"
    log = d.log()
    assert "EMBEDDED: started a SIMULATED Asterisk" in log
    assert "--ari-url" in log                           # says how to use a real Asterisk
    nats_pid = int(log.split("started the bundled nats-server at ")[1].split("(pid ")[1].split(",")[0])
    assert not gone(nats_pid) and "--nats-url" in log
    d.wait_log("try: ")     # logged just after the ready line: it may not be in the file yet

    got = announcements(nats_url)
    # the demo's application, and an entity id of its own (not the simulator's fixed default)
    assert got and got[0]["application"] == "demo"
    assert got[0]["node"] != "02:fc:00:00:00:01" and got[0]["node"].startswith("02:")

    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=START) == 0
    assert gone(nats_pid)
    assert "embedded nats-server (pid %d) stopped" % nats_pid in d.log()
    assert "embedded simulator stopped" in d.log()


def test_exit_on_entity_change_exits_1(daemon_factory, simulator, nats_server):
    d = daemon_factory("--ari-url", simulator.url, "--nats-url", nats_server.url, "--exit-on-entity-change",
                       "--entity-check-interval", "0.2", env=clean_env(ARI_PASSWORD=ARI_SECRET))
    d.start("--foreground")
    d.ready_line()
    simulator.restart(entity_id="02:fc:00:00:00:08")
    assert d.proc.wait(timeout=START) == 1
    assert "exiting with status 1" in d.log()
    assert not os.path.exists(d.pidfile)


def test_unreachable_embedded_off_keeps_retrying_until_sigterm(daemon_factory):
    """ARI and NATS unreachable: the server retries, and SIGTERM still exits 0."""
    d = daemon_factory("--ari-url", "http://127.0.0.1:1/ari", "--nats-url", "nats://127.0.0.1:1")
    d.start("--foreground")
    d.wait_log("(attempt 2)")
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=START) == 0


def test_ping_without_servers_fails_clearly(nats_server):
    ping = subprocess.run([sys.executable, BIN, "--ping", "--no-config", "--nats-url", nats_server.url],
                          env=clean_env(), capture_output=True, text=True, timeout=START)
    assert ping.returncode == 1 and "no announcement" in ping.stderr
