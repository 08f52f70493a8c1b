"""Daemon pieces that need no server: pidfile, secret redaction in logs, sd_notify, startup refusals."""
import logging
import os
import socket
import subprocess
import sys

import pytest

from ariproxy.server import daemon
from ariproxy.server.config import load_config
from ariproxy.server.daemon import PidFile, PidFileError, sd_notify, setup_logging
from tests.support.secrets import ARI_PASSWORD as SECRET
from tests.support.wait import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# an ARI and a NATS that nothing serves: enough configuration for the daemon to get to its pidfile
NOWHERE = ("--ari-url", "http://127.0.0.1:1/ari", "--nats-url", "nats://127.0.0.1:1")


def dead_pid():
    """The PID of a process that has exited and been reaped."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_pidfile_written_and_removed(tmp_path):
    path = tmp_path / "ari-proxy.pid"
    pidfile = PidFile(str(path))
    pidfile.acquire()
    assert path.read_text() == "%d\n" % os.getpid()
    assert [p for p in os.listdir(tmp_path) if p != "ari-proxy.pid"] == []   # no temp file left
    pidfile.release()
    assert not path.exists()


@pytest.fixture
def fake_ari_proxy():
    """A live process whose command line is ``ari-proxy ...`` (what a running daemon looks like)."""
    proc = subprocess.Popen(["bash", "-c", "exec -a ari-proxy sleep 600"])
    try:
        wait_for(lambda: daemon.pid_is_ari_proxy(proc.pid), 10, message="the fake ari-proxy never showed up")
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def other_process():
    """A live process that is not ari-proxy (the reused pid of a crashed daemon)."""
    proc = subprocess.Popen(["sleep", "600"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_pidfile_refuses_a_live_ari_proxy(tmp_path, fake_ari_proxy):
    path = tmp_path / "ari-proxy.pid"
    path.write_text("%d\n" % fake_ari_proxy)
    with pytest.raises(PidFileError, match="already running as pid %d" % fake_ari_proxy):
        PidFile(str(path)).acquire()
    assert path.read_text() == "%d\n" % fake_ari_proxy


def test_pidfile_naming_another_live_process_is_stale(tmp_path, other_process):
    path = tmp_path / "ari-proxy.pid"
    path.write_text("%d\n" % other_process)
    assert not daemon.pid_is_ari_proxy(other_process)
    pidfile = PidFile(str(path))
    pidfile.acquire()                       # replaced: that pid is alive but runs something else
    assert path.read_text() == "%d\n" % os.getpid()
    pidfile.release()


@pytest.mark.parametrize("content", ["-1\n", "0\n", "", "12ab\n", "  \n"])
def test_pidfile_without_a_usable_pid_is_stale(tmp_path, content):
    path = tmp_path / "ari-proxy.pid"
    path.write_text(content)
    pidfile = PidFile(str(path))
    assert pidfile.read() is None
    pidfile.acquire()
    assert path.read_text() == "%d\n" % os.getpid()
    pidfile.release()


def test_command_lines_taken_as_ari_proxy():
    assert daemon.looks_like_ari_proxy(["/venv/bin/python", "/venv/bin/ari-proxy", "--daemon"])
    assert daemon.looks_like_ari_proxy(["/usr/local/bin/ari-proxy"])
    assert daemon.looks_like_ari_proxy(["python3", "-m", "ariproxy.server.daemon"])
    assert not daemon.looks_like_ari_proxy(["sleep", "600"])
    assert not daemon.looks_like_ari_proxy(["vim", "/etc/ari-proxy.conf"])
    assert not daemon.looks_like_ari_proxy([])


def test_pidfile_stale_replaced(tmp_path):
    path = tmp_path / "ari-proxy.pid"
    path.write_text("%d\n" % dead_pid())
    pidfile = PidFile(str(path))
    pidfile.acquire()
    assert path.read_text() == "%d\n" % os.getpid()
    pidfile.release()
    assert not path.exists()
    path.write_text("garbage\n")
    PidFile(str(path)).acquire()
    assert path.read_text() == "%d\n" % os.getpid()


def test_pidfile_release_leaves_another_processes_file(tmp_path):
    path = tmp_path / "ari-proxy.pid"
    pidfile = PidFile(str(path))
    pidfile.acquire()
    path.write_text("%d\n" % os.getppid())   # another instance took over
    pidfile.release()
    assert path.read_text() == "%d\n" % os.getppid()


@pytest.fixture
def fresh_logger():
    """A logger to configure in place of the root logger (pytest's own handlers stay untouched)."""
    logger = logging.getLogger("test-daemon-logging")
    logger.propagate = False
    yield logger
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()


def test_log_file_never_shows_secrets(tmp_path, fresh_logger):
    log_file = tmp_path / "ari-proxy.log"
    cfg = load_config(["--no-config", "--log-file", str(log_file), "--ari-password", SECRET,
                       "--nats-url", "nats://bob:%s@127.0.0.1:4222,nats://tok%s@127.0.0.1:4223" % (SECRET, SECRET)],
                      environ={})
    files = setup_logging(cfg, logger=fresh_logger)
    fresh_logger.warning("connect with password %s to %s", SECRET, "nats://bob:%s@h" % SECRET)
    fresh_logger.warning("token tok%s in a plain message" % SECRET)
    fresh_logger.warning("asterisk/info is still readable")
    for h in files:
        h.flush()
    text = log_file.read_text()
    assert SECRET not in text
    assert "connect with password *** to nats://bob:***@h" in text
    assert "token *** in a plain message" in text
    assert "asterisk/info is still readable" in text


def test_sighup_style_reopen_starts_a_new_file(tmp_path, fresh_logger):
    log_file = tmp_path / "ari-proxy.log"
    cfg = load_config(["--no-config", "--log-file", str(log_file)], environ={})
    (handler,) = setup_logging(cfg, logger=fresh_logger)
    fresh_logger.info("before rotation")
    os.rename(log_file, tmp_path / "ari-proxy.log.1")
    handler.reopen()
    fresh_logger.info("after rotation")
    handler.flush()
    assert "after rotation" in log_file.read_text()
    assert "after rotation" not in (tmp_path / "ari-proxy.log.1").read_text()


def test_syslog_gets_redacted_records(tmp_path, fresh_logger):
    path = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(5)
        cfg = load_config(["--no-config", "--syslog", "--ari-password", SECRET], environ={})
        assert setup_logging(cfg, logger=fresh_logger, syslog_address=path) == []
        fresh_logger.error("password is %s", SECRET)
        record = sock.recv(4096).decode()
    assert record.startswith("<27>ari-proxy[%d]: ERROR test-daemon-logging: password is ***" % os.getpid())
    assert SECRET not in record


def test_sd_notify_sends_to_the_notify_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert sd_notify("READY=1")
        assert sock.recv(1024) == b"READY=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert sd_notify("READY=1") is False


def cli(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARI", "NATS", "MESSAGEBUS", "VERBOSE"))}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, os.path.join(REPO, "bin", "ari-proxy"), "--no-config"] + list(args),
                          env=env, capture_output=True, text=True, timeout=30)


def test_cli_refuses_to_start_when_the_pidfile_is_held(tmp_path, fake_ari_proxy):
    path = tmp_path / "ari-proxy.pid"
    path.write_text("%d\n" % fake_ari_proxy)
    result = cli("--foreground", "--pidfile", str(path), *NOWHERE)
    assert result.returncode == 1
    assert "already running as pid %d" % fake_ari_proxy in result.stderr
    assert path.read_text() == "%d\n" % fake_ari_proxy
    # the same refusal before detaching, so the user sees it
    result = cli("--daemon", "--pidfile", str(path), *NOWHERE)
    assert result.returncode == 1
    assert "already running as pid %d" % fake_ari_proxy in result.stderr


def test_cli_fatal_startup_errors_are_clear(tmp_path):
    result = cli("--foreground", "--log-file", str(tmp_path / "no-such-dir" / "x.log"), *NOWHERE)
    assert result.returncode == 1
    assert "cannot open log file" in result.stderr
    result = cli("--foreground", "--pidfile", str(tmp_path / "no-such-dir" / "x.pid"), *NOWHERE)
    assert result.returncode == 1
    assert "cannot write pidfile" in result.stderr
    result = cli("--daemon", "--foreground")
    assert result.returncode == 2 and "not allowed with argument" in result.stderr
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("ari-proxy ")
