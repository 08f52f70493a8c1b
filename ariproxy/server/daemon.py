"""``ari-proxy``: the server daemon's command line, pidfile, logging, signals and life cycle.

``main(argv)`` loads the configuration (:mod:`.config`), optionally detaches
(``--daemon``: double fork, ``setsid``, ``chdir /``, ``umask 022``, stdio on
``/dev/null``; the launching process waits for the daemon to report that its
pidfile is written and returns 0, or prints the daemon's startup error and
returns 1), starts what embedded mode needs (:mod:`.embedded`), runs
:class:`ariproxy.server.Server` until SIGTERM/SIGINT, then stops it
gracefully and exits 0.

Without an ARI URL the daemon refuses to start (exit 2) unless ``--embedded``
(alias ``--demo``) asks for the demo: a simulated Asterisk, a bundled
nats-server unless a NATS URL is set, and one demo call once serving.

Exit status: 0 after a signal-initiated stop (and for ``--check-config``,
``--version``); 1 for runtime failures (pidfile held by a live ari-proxy,
embedded service failed, server failed, or the server asked to exit because
Asterisk's entity id changed with ``exit_on_entity_change``); 2 for an
invalid configuration or command line.

Signals: SIGTERM/SIGINT stop gracefully (a second one exits at once);
SIGHUP reopens the log file (for logrotate).

``main`` blocks until the daemon stops.
"""
from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all()

import logging  # noqa: E402  (after monkey patching, on purpose)
import logging.handlers  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402

from .. import __version__  # noqa: E402
from ..jsonutil import mask_url  # noqa: E402
from .config import (DEFAULT_NATS_URL, NO_ARI_MESSAGE, ConfigError, build_parser, config_warnings,  # noqa: E402
                     load_config)
from .logs import PLAIN_SUFFIX, JsonFormatter, LogContext  # noqa: E402
from .systemd import Notifier  # noqa: E402
from .systemd import notify as sd_notify  # noqa: E402

__all__ = ["main", "Daemon", "PidFile", "PidFileError", "setup_logging", "daemonize", "sd_notify", "ping"]

log = logging.getLogger("ariproxy.daemon")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s" + PLAIN_SUFFIX
SYSLOG_FORMAT = "ari-proxy[%(process)d]: %(levelname)s %(name)s: %(message)s" + PLAIN_SUFFIX
#: the local syslog socket; ARIPROXY_SYSLOG_SOCKET names another (containers that mount one elsewhere)
DEV_LOG = os.environ.get("ARIPROXY_SYSLOG_SOCKET") or "/dev/log"
#: where ``--daemon`` logs when neither log_file nor a syslog socket is there (first writable wins)
FALLBACK_LOG_FILES = ("/var/log/ari-proxy.log", "~/.ari-proxy.log",
                      os.path.join(tempfile.gettempdir(), "ari-proxy-%d.log" % os.getuid()))
# ARI's documented default password; redacting it would mangle every "asterisk" in the log.
_PUBLIC_SECRETS = {"asterisk"}


# -- pidfile ---------------------------------------------------------------

class PidFileError(RuntimeError):
    """The pidfile is held by a live process, or cannot be written."""


def _pid_alive(pid):
    if pid <= 0:
        return False      # kill(0 or -1, 0) would ask about a whole process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # alive, owned by someone else
        return True
    return True


def looks_like_ari_proxy(argv):
    """True when a command line (list of str) runs the ari-proxy daemon (script or ``-m`` module)."""
    for arg in argv[:4]:
        if os.path.basename(arg) == "ari-proxy" or arg == "ariproxy.server.daemon":
            return True
    return False


def pid_is_ari_proxy(pid):
    """True when ``pid`` is a live ari-proxy process (its ``/proc/PID/cmdline`` says so).

    A live pid running anything else (the pid was reused after a crash) is not
    ours.  Without ``/proc`` (not Linux) a live pid is taken as ours.
    """
    if not _pid_alive(pid):
        return False
    if not os.path.isdir("/proc/self"):
        return True
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return False
    except OSError:
        return True   # cannot tell: do not risk a second instance
    argv = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    return looks_like_ari_proxy(argv)


class PidFile:
    """A pidfile that refuses a second live instance and replaces stale ones.

    ``acquire()`` writes this process's PID atomically (temp file + ``link``,
    so no reader ever sees a partial file and two starters cannot both win);
    ``release()`` removes it if it still holds our PID.  Neither blocks.
    """

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.pid = None

    def read(self):
        """The PID in the file, or None when missing, unreadable or not a positive number."""
        try:
            with open(self.path) as f:
                pid = int(f.read().strip() or "0")
        except (OSError, ValueError):
            return None
        return pid if pid > 0 else None

    def check(self):
        """Raise PidFileError if a live ari-proxy process other than this one holds the file."""
        pid = self.read()
        if pid is not None and pid != os.getpid() and pid_is_ari_proxy(pid):
            raise PidFileError("already running as pid %d (pidfile %s)" % (pid, self.path))

    def acquire(self):
        directory = os.path.dirname(self.path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".ari-proxy-pid-", dir=directory)
        except OSError as e:
            raise PidFileError("cannot write pidfile %s: %s" % (self.path, e.strerror)) from None
        try:
            with os.fdopen(fd, "w") as f:
                f.write("%d\n" % os.getpid())
            os.chmod(tmp, 0o644)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                self.check()
                stale = self.read()
                os.replace(tmp, self.path)
                log.warning("replaced stale pidfile %s (pid %s is not a running ari-proxy)", self.path, stale)
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self.pid = os.getpid()

    def release(self):
        if self.pid is not None and self.read() == self.pid:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        self.pid = None


# -- logging ---------------------------------------------------------------

class ReopenableFileHandler(logging.FileHandler):
    """A file handler that ``reopen()`` points at the path again (after logrotate renamed the file)."""

    def reopen(self):
        self.acquire()
        try:
            if self.stream is not None:
                try:
                    self.stream.flush()
                finally:
                    self.stream.close()
            self.stream = self._open()
        finally:
            self.release()


class SecretRedactor(logging.Filter):
    """Replaces configured secrets (passwords, URL credentials) with ``***`` in every record."""

    def __init__(self, secrets):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 3 and s not in _PUBLIC_SECRETS},
                              key=len, reverse=True)

    def filter(self, record):
        if self.secrets:
            text = record.getMessage()
            if any(s in text for s in self.secrets):
                for s in self.secrets:
                    text = text.replace(s, "***")
                record.msg, record.args = text, None
        return True


def _url_secrets(urls):
    """user:password and tokens from (comma-separated) URLs."""
    found = []
    for url in (urls or "").split(","):
        if "@" in url and "://" in url:
            userinfo = url.split("://", 1)[1].split("@", 1)[0]
            found.append(userinfo.split(":", 1)[1] if ":" in userinfo else userinfo)
    return found


def setup_logging(cfg, stderr=True, logger=None, syslog_address=None, context=None):
    """Configure ``logger`` (default: the root logger) from ``cfg``; returns the file handlers.

    Destinations: ``log_file`` and/or ``syslog``; else stderr.  In daemon
    mode stderr is gone, so with neither a log file nor syslog the daemon
    logs to syslog (``syslog_address``: default ``/dev/log``, else UDP
    localhost:514).  Every handler redacts the configured secrets and adds
    node and application (``context``, a :class:`~.logs.LogContext`; set its
    ``server`` once there is one).  ``log_format`` ``json``: one JSON object
    per line (syslog keeps its ``ari-proxy[pid]:`` tag in front).
    """
    root = logging.getLogger() if logger is None else logger
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(getattr(logging, cfg.log_level.upper()))
    redactor = SecretRedactor([cfg.ari_password] + _url_secrets(cfg.nats_url) + _url_secrets(cfg.ari_url))
    if context is None:
        context = LogContext(application=cfg.application)
    as_json = getattr(cfg, "log_format", "plain") == "json"

    def formatter(plain):
        return JsonFormatter() if as_json else logging.Formatter(plain)

    handlers, files = [], []
    if cfg.log_file:
        handler = ReopenableFileHandler(cfg.log_file, encoding="utf-8")
        handler.setFormatter(formatter(LOG_FORMAT))
        handlers.append(handler)
        files.append(handler)
    if cfg.syslog or (cfg.daemon and not cfg.log_file):
        address = syslog_address or (DEV_LOG if os.path.exists(DEV_LOG) else ("localhost", 514))
        handler = logging.handlers.SysLogHandler(address=address,
                                                 facility=logging.handlers.SysLogHandler.LOG_DAEMON)
        if as_json:
            handler.setFormatter(_TaggedJson())
        else:
            handler.setFormatter(logging.Formatter(SYSLOG_FORMAT))
        handlers.append(handler)
    if stderr and not cfg.daemon and not handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter(LOG_FORMAT))
        handlers.append(handler)
    for handler in handlers:
        handler.addFilter(redactor)
        handler.addFilter(context)
        root.addHandler(handler)
    return files


def fallback_log_file(candidates=FALLBACK_LOG_FILES):
    """The first of ``candidates`` that can be opened for appending (created if need be), or None."""
    for path in candidates:
        path = os.path.abspath(os.path.expanduser(path))
        try:
            open(path, "a").close()
        except OSError:
            continue
        return path
    return None


class _TaggedJson(JsonFormatter):
    """JSON lines for syslog, behind the ``ari-proxy[pid]:`` tag syslog expects."""

    def format(self, record):
        return "ari-proxy[%d]: %s" % (record.process or os.getpid(), super().format(record))


# -- detaching -------------------------------------------------------------

# gevent's os.close defers closing until its loop runs; the launcher below
# blocks in os.read without a loop, so it must close for real (or it would
# hold the pipe's write end itself and never see EOF).
_real_close = monkey.get_original("os", "close")


def daemonize():
    """Double fork into a session-less background process; returns (in the daemon) a notify function.

    The launching process does not return: it waits until the daemon calls
    ``notify(None)`` (started) or ``notify("message")`` (failed) or dies, then
    exits 0 or 1, printing the message.  Blocks the launcher only.
    """
    read_fd, write_fd = os.pipe()
    if os.fork() > 0:
        _real_close(write_fd)
        chunks = []
        while True:
            chunk = os.read(read_fd, 4096)
            if not chunk:
                break
            chunks.append(chunk)
        report = b"".join(chunks).decode("utf-8", "replace")
        if report.startswith("OK"):
            os._exit(EXIT_OK)
        sys.stderr.write("ari-proxy: %s\n" % (report.strip() or "daemon exited during startup (see its log)"))
        sys.stderr.flush()
        os._exit(EXIT_FAILURE)
    _real_close(read_fd)
    os.setsid()
    if os.fork() > 0:
        os._exit(EXIT_OK)   # the session leader goes; the daemon can never regain a terminal
    os.chdir("/")
    os.umask(0o022)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        _real_close(devnull)

    def notify(error=None):
        nonlocal write_fd
        if write_fd is None:
            return
        try:
            os.write(write_fd, b"OK\n" if error is None else error.encode("utf-8", "replace"))
        except OSError:
            pass
        _real_close(write_fd)
        write_fd = None

    return notify


# -- the daemon ------------------------------------------------------------

class Daemon:
    """One run of the server with its pidfile, logging, embedded services and signal handling."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.server = None
        self.embedded = None
        self.pidfile = None
        self.log_files = []
        self.log_context = LogContext(application=cfg.application)
        self.notifier = None
        self.exit_code = EXIT_OK
        self._stopping = Event()
        self._stop_reason = None

    def run(self):
        """Start everything, block until stopped; returns the exit status."""
        cfg = self.cfg
        for key in ("pidfile", "log_file"):
            if cfg.values.get(key):
                cfg.values[key] = os.path.abspath(cfg.values[key])   # before chdir("/")
        if cfg.pidfile:
            self.pidfile = PidFile(cfg.pidfile)
            try:
                self.pidfile.check()
            except PidFileError as e:
                sys.stderr.write("ari-proxy: %s\n" % e)
                return EXIT_FAILURE
        if cfg.daemon and not cfg.log_file and not os.path.exists(DEV_LOG):
            # detached, stderr is gone and there is no syslog to take the records: never log to nothing
            path = fallback_log_file()
            if path is None:
                sys.stderr.write("ari-proxy: --daemon without log_file, no syslog socket at %s, and none of "
                                 "%s is writable: set --log-file\n" % (DEV_LOG, ", ".join(FALLBACK_LOG_FILES)))
                return EXIT_FAILURE
            cfg.values["log_file"] = path
            cfg.sources["log_file"] = "fallback (no syslog socket at %s)" % DEV_LOG
            sys.stderr.write("ari-proxy: no syslog socket at %s and no log_file set: logging to %s\n"
                             % (DEV_LOG, path))
        if cfg.log_file:
            try:   # fail here, where the user still sees stderr
                open(cfg.log_file, "a").close()
            except OSError as e:
                sys.stderr.write("ari-proxy: cannot open log file %s: %s\n" % (cfg.log_file, e.strerror))
                return EXIT_FAILURE
        notify = daemonize() if cfg.daemon else (lambda error=None: None)
        try:
            return self._run(notify)
        finally:
            notify("daemon stopped during startup (see its log)")

    def _run(self, notify):
        cfg = self.cfg
        self.log_files = setup_logging(cfg, context=self.log_context)
        try:
            if self.pidfile:
                self.pidfile.acquire()
            log.info("ari-proxy %s starting (pid %d%s, config %s)", __version__, os.getpid(),
                     ", daemon" if cfg.daemon else "", cfg.config_path or "none")
            for key, value in sorted(cfg.values.items()):
                log.debug("config %s = %r (%s)", key, _shown(key, value), cfg.sources[key])
            self._install_signals()
            from .embedded import EmbeddedServices
            self.embedded = EmbeddedServices(cfg)
            overrides = self.embedded.start()
            kwargs = cfg.server_kwargs(**overrides)
            from . import Server
            self.server = Server(**kwargs)
            self.log_context.server = self.server
            notify(None)
            self.server.start()
            self.notifier = Notifier(self.server).start()
            log.info("connecting to ARI at %s and NATS at %s (application %s, prefix %s)",
                     mask_url(kwargs["ari_url"]), mask_url(kwargs["nats_url"]), kwargs["application"],
                     kwargs["prefix"])
            watchers = [gevent.spawn(self._report_ready, kwargs), gevent.spawn(self._watch_server)]
            self._stopping.wait()
            gevent.killall(watchers)
            self._shutdown()
            return self.exit_code
        except Exception as e:
            message = "%s: %s" % (type(e).__name__, e) if not str(e).startswith(type(e).__name__) else str(e)
            log.error("fatal: %s", message, exc_info=log.isEnabledFor(logging.DEBUG))
            notify(message)
            if not cfg.daemon:
                # stderr may be a file handler's only twin: say it plainly once more
                if not any(isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is sys.stderr
                           for h in logging.getLogger().handlers):
                    sys.stderr.write("ari-proxy: %s\n" % message)
            self._shutdown()
            return EXIT_FAILURE
        finally:
            self._cleanup()

    # -- readiness -------------------------------------------------------

    def _watch_server(self):
        """Stop the daemon when the server stops by itself (failed start, exit_on_entity_change)."""
        server = self.server
        server.wait_stopped()
        if self._stopping.is_set():
            return
        status = getattr(server, "exit_status", None) or 0
        if status == 0 and getattr(server, "state", None) == "failed":
            status = EXIT_FAILURE
        (log.error if status else log.info)("server stopped by itself (state %s): exiting with status %d",
                                            getattr(server, "state", "?"), status)
        self._stop_reason = "server"
        self.exit_code = status
        self._stopping.set()

    def _report_ready(self, kwargs):
        """Log once when the server is serving (and keep saying so while it is not)."""
        waited = 0.0
        while not self._stopping.is_set():
            if self.server.wait_ready(10.0):
                break
            if getattr(self.server, "state", None) in ("stopping", "stopped", "failed"):
                return   # _watch_server reports it
            waited += 10.0
            log.warning("not serving yet after %.0fs (state %s): check that ARI at %s and NATS at %s are "
                        "reachable and the credentials are right", waited, getattr(self.server, "state", "?"),
                        mask_url(kwargs["ari_url"]), mask_url(kwargs["nats_url"]))
        else:
            return
        nats = mask_url(kwargs["nats_url"])
        log.info("ready: serving application %s as node %s on NATS %s (prefix %s)",
                 kwargs["application"], self.server.node, nats, kwargs["prefix"])
        hint = "%s --ping --no-config --nats-url %s" % (_self_command(), nats)
        if kwargs["prefix"] != "ari.":
            hint += " --prefix %s" % kwargs["prefix"]
        log.info("try: %s   (asks every server to announce itself)", hint)
        sd_notify("READY=1\nSTATUS=serving %s as node %s\nMAINPID=%d"
                  % (kwargs["application"], self.server.node, os.getpid()))
        if self.cfg.embedded:
            self._demo(kwargs)

    def _demo(self, kwargs):
        """Embedded mode: the demo call (unless demo_call is off), then the commands to try, on stdout."""
        from .. import demo
        if self.cfg.demo_call:
            try:
                demo.demo_call(kwargs["nats_url"], kwargs["application"], kwargs["prefix"])
            except Exception as e:   # the demo is a show: the proxy keeps serving whatever happens to it
                log.error("demo call failed: %s: %s", type(e).__name__, e)
        demo.next_steps(kwargs["nats_url"], kwargs["application"], self.server.node)

    # -- stopping --------------------------------------------------------

    def _install_signals(self):
        gevent.signal_handler(signal.SIGTERM, self.request_stop, "SIGTERM")
        gevent.signal_handler(signal.SIGINT, self.request_stop, "SIGINT")
        gevent.signal_handler(signal.SIGHUP, self.reopen_logs)

    def request_stop(self, reason="request", exit_code=EXIT_OK):
        """Begin a graceful stop (called from a signal handler greenlet); a second call exits at once."""
        if self._stopping.is_set():
            log.warning("%s again while stopping: exiting now", reason)
            self._cleanup()
            os._exit(EXIT_FAILURE)
        log.info("%s: stopping", reason)
        sd_notify("STOPPING=1")
        self._stop_reason = reason
        self.exit_code = exit_code
        self._stopping.set()

    def reopen_logs(self):
        for handler in self.log_files:
            handler.reopen()
        log.info("SIGHUP: log file reopened")

    def _shutdown(self):
        if self.notifier is not None:
            self.notifier.stop()
        if self.server is not None:
            server, self.server = self.server, None
            try:
                server.stop(timeout=self.cfg.shutdown_timeout)
                log.info("server stopped")
            except Exception:
                log.exception("error while stopping the server")

    def _cleanup(self):
        if self.embedded is not None:
            embedded, self.embedded = self.embedded, None
            embedded.stop()
        if self.pidfile is not None:
            self.pidfile.release()


def _shown(key, value):
    from .config import mask_secrets
    return mask_secrets(key, value)


def _self_command():
    """How the user invoked us, for hints (the venv's ari-proxy script, or the module)."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "ari-proxy"
    if argv0.endswith(".py") or argv0 == "-c" or argv0.endswith("__main__.py"):
        return "%s -m ariproxy.server.daemon" % sys.executable
    return argv0


# -- ping ------------------------------------------------------------------

def ping(cfg, timeout=1.0, out=None, application=None):
    """Publish ``<prefix>ping``, print each announcement received within ``timeout``.

    With ``application`` only that application's servers are printed and
    count.  Returns 0 when at least one (matching) server answered, else 1.
    """
    from ..bus import Bus
    from ..jsonutil import loads
    out = out or sys.stdout
    url = cfg.nats_url or DEFAULT_NATS_URL
    bus = Bus(servers=url, name="ari-proxy-ping", reconnect=False)
    try:
        bus.connect()
    except Exception as e:
        sys.stderr.write("ari-proxy: cannot connect to NATS at %s: %s\n" % (mask_url(url), e))
        return EXIT_FAILURE
    seen = []
    done = Event()

    def on_announce(msg):
        try:
            body = loads(msg.data)
            entry = (body.get("node") or body.get("asterisk"), body.get("application"))
        except Exception:
            entry = ("?", msg.data[:80])
        if entry not in seen:
            seen.append(entry)
        if application is None or entry[1] == application:
            done.set()

    try:
        bus.subscribe(cfg.prefix + "announce", on_announce)
        bus.flush()
        bus.publish(cfg.prefix + "ping", b'{"kind":"","key":null}')
        done.wait(timeout)
        gevent.sleep(min(0.2, timeout))   # later servers' announcements, after the first arrived
    finally:
        bus.close()
    shown = [(node, app) for node, app in seen if application is None or app == application]
    for node, app in shown:
        out.write("node %s application %s\n" % (node, app))
    if not shown:
        if application is not None and seen:
            sys.stderr.write("ari-proxy: no server of application %s answered on %s within %.1fs (%d of "
                             "other applications did: %s)\n"
                             % (application, mask_url(url), timeout, len(seen),
                                ", ".join(sorted({str(app) for _, app in seen}))))
        else:
            sys.stderr.write("ari-proxy: no announcement on %s within %.1fs\n" % (mask_url(url), timeout))
        return EXIT_FAILURE
    return EXIT_OK


# -- entry point -----------------------------------------------------------

def main(argv=None):
    """The ``ari-proxy`` command; returns the exit status (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        print("ari-proxy %s" % __version__)
        return EXIT_OK
    try:
        cfg = load_config(args=args)
    except ConfigError as e:
        sys.stderr.write("ari-proxy: configuration error: %s\n" % e)
        return EXIT_CONFIG
    if args.check_config:
        sys.stdout.write(cfg.describe())
        for warning in config_warnings(cfg, DEV_LOG):
            sys.stderr.write("ari-proxy: warning: %s\n" % warning)
        return EXIT_OK
    if args.ping:
        # the application filters only when some source named one (the built-in default does not)
        app = cfg.application if not cfg.sources["application"].startswith("default") else None
        return ping(cfg, application=app)
    if not cfg.embedded and cfg.ari_url is None:
        sys.stderr.write("ari-proxy: %s\n" % NO_ARI_MESSAGE)
        return EXIT_CONFIG
    return Daemon(cfg).run()


def console_main():
    """Console-script entry point (``ari-proxy``)."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()
