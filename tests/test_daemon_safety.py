"""Safe defaults of the daemon: no simulator unless asked, pidfiles that name other programs, log fallback,
``--check-config`` warnings, ``--ping`` filters.  Real processes, real nats-server."""
import os
import subprocess
import sys

import pytest

from tests.support.secretcheck import scan_file
from tests.support.secrets import ARI_PASSWORD
from tests.support.wait import wait_for
from tests.test_daemon import BIN, INIT, START, VENV_SCRIPT, Daemon, clean_env, gone, read

SCRIPT = VENV_SCRIPT if os.access(VENV_SCRIPT, os.X_OK) else BIN

pytestmark = pytest.mark.timeout(120)


def run(*args, env=None, timeout=START):
    return subprocess.run([sys.executable, BIN] + list(args), env=env or clean_env(), capture_output=True,
                          text=True, timeout=timeout)


def test_no_ari_settings_refuses_to_start_and_says_how_to_get_the_demo(tmp_path):
    # the case: a config file that sets only nats_url
    config = tmp_path / "ari-proxy.conf"
    config.write_text("[nats]\nnats_url = nats://127.0.0.1:1\n")
    result = run("--config", str(config), "--foreground", "--log-file", str(tmp_path / "log"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no Asterisk configured" in result.stderr and "ari_url" in result.stderr
    assert "--embedded" in result.stderr and "make run" in result.stderr
    assert "SIMULATED" not in read(str(tmp_path / "log"))
    # --daemon too: refused before detaching, so the caller sees it
    result = run("--config", str(config), "--daemon", "--pidfile", str(tmp_path / "pid"))
    assert result.returncode == 2 and "no Asterisk configured" in result.stderr
    assert not (tmp_path / "pid").exists()


def test_the_init_script_never_starts_a_simulator(tmp_path):
    """Even a config file and environment asking for embedded mode: the init script passes --no-embedded."""
    config = tmp_path / "ari-proxy.conf"
    config.write_text("[nats]\nnats_url = nats://127.0.0.1:1\n[daemon]\nembedded = true\n")
    pidfile, logfile = tmp_path / "ari-proxy.pid", tmp_path / "ari-proxy.log"
    defaults = tmp_path / "defaults"
    defaults.write_text('DAEMON="%s"\nCONFIG="%s"\nPIDFILE="%s"\nLOGFILE="%s"\n' % (SCRIPT, config, pidfile, logfile))
    result = subprocess.run(["bash", INIT, "start"], capture_output=True, text=True, timeout=60,
                            env=clean_env(ARIPROXY_DEFAULTS=str(defaults), ARIPROXY_EMBEDDED="true"))
    try:
        assert result.returncode != 0 and "failed" in result.stdout, result.stdout + result.stderr
        assert "no Asterisk configured" in result.stderr
        assert not pidfile.exists() and "SIMULATED" not in read(str(logfile))
    finally:
        if pidfile.exists():
            pid = int(pidfile.read_text() or 0)
            if pid and not gone(pid):
                os.kill(pid, 9)


def test_the_systemd_unit_never_starts_a_simulator():
    with open(os.path.join(os.path.dirname(INIT), "ari-proxy.service")) as f:
        exec_start = [line for line in f if line.startswith("ExecStart=")]
    assert len(exec_start) == 1 and exec_start[0].split()[-1] == "--no-embedded"


def test_init_script_status_and_stop_on_a_pidfile_naming_another_process(tmp_path):
    other = subprocess.Popen(["sleep", "600"])
    try:
        pidfile = tmp_path / "ari-proxy.pid"
        pidfile.write_text("%d\n" % other.pid)
        defaults = tmp_path / "defaults"
        defaults.write_text('PIDFILE="%s"\nDAEMON="%s"\n' % (pidfile, BIN))
        env = clean_env(ARIPROXY_DEFAULTS=str(defaults))

        def init(action):
            return subprocess.run(["bash", INIT, action], env=env, capture_output=True, text=True, timeout=30)

        status = init("status")
        assert status.returncode == 1 and "is not running" in status.stdout, status.stdout
        assert init("reload").returncode == 7
        stop = init("stop")
        assert stop.returncode == 0 and "not running" in stop.stdout
        assert other.poll() is None, "the init script signalled a process that is not ari-proxy"
        assert not pidfile.exists()
        for garbage in ("-1\n", "0\n", "x\n"):
            pidfile.write_text(garbage)
            assert init("status").returncode == 1
    finally:
        other.kill()
        other.wait()


def test_init_script_status_on_a_live_ari_proxy_pid(tmp_path):
    fake = subprocess.Popen(["bash", "-c", "exec -a ari-proxy sleep 600"])
    try:
        pidfile = tmp_path / "ari-proxy.pid"
        pidfile.write_text("%d\n" % fake.pid)
        defaults = tmp_path / "defaults"
        defaults.write_text('PIDFILE="%s"\nDAEMON="%s"\n' % (pidfile, BIN))

        def status():
            return subprocess.run(["bash", INIT, "status"], env=clean_env(ARIPROXY_DEFAULTS=str(defaults)),
                                  capture_output=True, text=True, timeout=30)
        result = wait_for(lambda: (lambda r: r if r.returncode == 0 else None)(status()), 10,
                          message="the init script never saw the fake ari-proxy")
        assert "running (pid %d)" % fake.pid in result.stdout
    finally:
        fake.kill()
        fake.wait()


def test_check_config_warns_about_surprising_settings(tmp_path):
    result = run("--no-config", "--check-config")
    assert result.returncode == 0
    assert "warning: ari_url is not set: the daemon will refuse to start" in result.stderr
    assert "warning: nats_url is not set" in result.stderr
    result = run("--no-config", "--check-config", "--ari-url", "http://10.9.8.7:8088/ari", "--prefix", "x.",
                 "--announce-interval", "600", "--nats-url", "nats://127.0.0.1:4222")
    assert result.returncode == 0
    for text in ("sample password 'asterisk'", "plain http to another host", "Go ari-proxy servers",
                 "longer than the 300s"):
        assert text in result.stderr, text
    assert "ari_url is not set" not in result.stderr
    result = run("--no-config", "--check-config", "--demo")
    assert "a SIMULATED Asterisk is served" in result.stderr
    assert "application = demo    ; default (embedded)" in result.stdout
    # a clean production configuration gets no warning
    result = run("--no-config", "--check-config", "--ari-url", "http://127.0.0.1:8088/ari",
                 "--nats-url", "nats://10.0.0.2:4222")
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


def test_old_embedded_auto_is_refused_with_an_explanation(tmp_path):
    config = tmp_path / "c.conf"
    config.write_text("[daemon]\nembedded = auto\n")
    result = run("--config", str(config), "--check-config")
    assert result.returncode == 2 and "runs only when asked" in result.stderr


def test_daemon_without_syslog_logs_to_a_file_and_says_where(tmp_path, simulator, nats_server):
    d = Daemon(tmp_path, "--ari-url", simulator.url, "--nats-url", nats_server.url,
               env=clean_env(ARI_PASSWORD=ARI_PASSWORD, HOME=str(tmp_path),
                             ARIPROXY_SYSLOG_SOCKET=str(tmp_path / "no-such-socket")))
    d.args.remove("--log-file")
    d.args.remove(d.log_file)
    existing = set()
    from ariproxy.server.daemon import FALLBACK_LOG_FILES
    candidates = [os.path.abspath(os.path.expanduser(p)) for p in FALLBACK_LOG_FILES]
    candidates.append(str(tmp_path / ".ari-proxy.log"))
    existing = {p for p in candidates if os.path.exists(p)}
    launcher = subprocess.run([sys.executable, BIN, "--daemon"] + d.args, env=d.env, capture_output=True,
                              text=True, timeout=START)
    path = None
    try:
        assert launcher.returncode == 0, launcher.stderr
        assert "no syslog socket at %s" % (tmp_path / "no-such-socket") in launcher.stderr
        path = launcher.stderr.split("logging to ")[1].split()[0]
        wait_for(lambda: "ready: serving application" in read(path), START, message="no ready line in " + path)
    finally:
        d.cleanup()
        if path and path not in existing and os.path.exists(path):
            scan_file(path, "fallback log file %s" % path)    # outside tmp_path: searched before it goes
            os.unlink(path)


def test_fallback_log_file_takes_the_first_writable(tmp_path):
    from ariproxy.server.daemon import fallback_log_file
    target = tmp_path / "b.log"
    assert fallback_log_file([str(tmp_path / "no-dir" / "a.log"), str(target)]) == str(target)
    assert target.exists()
    assert fallback_log_file([str(tmp_path / "no-dir" / "a.log")]) is None


def test_ping_honours_the_application_filter(proxy):
    ok = run("--no-config", "--ping", "--nats-url", proxy.nats_url, "--application", proxy.application)
    assert ok.returncode == 0 and "application %s" % proxy.application in ok.stdout
    other = run("--no-config", "--ping", "--nats-url", proxy.nats_url, "--application", "nosuchapp")
    assert other.returncode == 1 and other.stdout == ""
    assert "no server of application nosuchapp answered" in other.stderr and proxy.application in other.stderr


@pytest.fixture
def simulator():
    from ariproxy.sim import Simulator
    sim = Simulator(host="127.0.0.1", port=0, entity_id="02:fc:00:00:00:07", password=ARI_PASSWORD)
    sim.start()
    yield sim
    sim.stop()
