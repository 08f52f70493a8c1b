"""The suite-wide secret check: a test fails when a credential of ``tests/support/secrets.py`` shows up
in what it produced.

Registered from ``tests/conftest.py`` (``pytest_plugins``).  What is searched, per test:

- its captured stdout, stderr and log (the report sections of setup, call and teardown);
- every log record, formatted with its traceback, as a root handler sees it: DEBUG included (the
  root logger is opened to every level, while pytest's own handlers keep showing only what they
  showed before);
- the failure text (``longrepr``);
- files its processes wrote under its ``tmp_path`` whose names look like output (``*.log``,
  ``*.log.N``, ``log``, ``stdout*``, ``stderr*``, ``*.out``, ``*.err``), the nats-server logs of
  ``tests/support/nats.py`` (:func:`scan_file` before their directory goes) and any text a helper
  hands to :func:`scan_text`;
- the output of every ``subprocess.run(capture_output=True)`` / ``Popen.communicate()``.

Inputs are not searched: config files, scripts and arguments a test writes keep their secrets.  A hit
turns the phase's report into a failure naming the test, the stream or file, the line number and the
line with every secret replaced by ``***`` (the captured output and failure text of that report are
masked the same way), never the secret itself.  The check adds a few milliseconds per test.
"""
import logging
import os
import re
import stat
import subprocess
import time
import urllib.parse

import pytest

from .secrets import SECRETS

__all__ = ["SecretScanner", "scan_text", "scan_file", "OUTPUT_NAME"]

MASK = "***"
#: File names taken for output (a test's inputs, such as config files, are left alone).
OUTPUT_NAME = re.compile(r"(\.log(\.\d+)?|\.out|\.err|^log|^stdout.*|^stderr.*)$", re.IGNORECASE)
MAX_FILE_BYTES = 64 << 20
MAX_FINDINGS = 8         # per report: enough to find the leak, short enough to read
_SEPARATORS = re.compile(r"[@:/%,]")
_MIN_PIECE = 6
# The root logger's level while the check runs: below DEBUG, so every record is made, and a value
# nobody else sets, so "the root level is still ours" can be told from caplog.set_level(...).
_OPEN_LEVEL = 1


class SecretScanner:
    """Finds and masks the secrets of ``secrets`` (name -> value) in text.

    Beside each value it looks for its percent-encoded form and for the pieces between ``@ : / % ,``
    of six characters or more: what a URL masked only up to its first ``@`` lets through."""

    def __init__(self, secrets):
        needles = {}
        for name, value in secrets.items():
            for form in [value, urllib.parse.quote(value, safe="")] + _SEPARATORS.split(value):
                if form and (form == value or len(form) >= _MIN_PIECE):
                    needles.setdefault(form, name)
        self._needles = sorted(needles, key=len, reverse=True)   # longest first, for masking
        self._names = needles

    def hit(self, text):
        """True when ``text`` holds a secret (the fast path: one substring search per needle)."""
        return any(n in text for n in self._needles)

    def names(self, text):
        """The names of the secrets in ``text``, sorted."""
        return sorted({self._names[n] for n in self._needles if n in text})

    def mask(self, text):
        """``text`` with every secret replaced by ``***``."""
        for n in self._needles:
            if n in text:
                text = text.replace(n, MASK)
        return text

    def findings(self, where, text, limit=MAX_FINDINGS):
        """``[(where, line number or None, masked line, names)]`` for the lines of ``text`` with a secret."""
        if not self.hit(text):
            return []
        found = []
        for number, line in enumerate(text.splitlines(), 1):
            if self.hit(line):
                found.append((where, number, self.mask(line.strip())[:400], self.names(line)))
                if len(found) >= limit:
                    break
        return found or [(where, None, "(split across lines)", self.names(text))]


SCANNER = SecretScanner(SECRETS)
_ACTIVE = []            # the SecretCheck of each session running in this process, innermost last


def _as_text(data):
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data if isinstance(data, str) else ""


def scan_text(where, text):
    """Search ``text`` (str or bytes) produced by the running test; ``where`` names it in a failure."""
    if _ACTIVE and text:
        _ACTIVE[-1].add(where, _as_text(text))


def scan_file(path, where=None):
    """Search the file at ``path`` (output of the running test, e.g. a server log about to be deleted)."""
    if _ACTIVE:
        _ACTIVE[-1].add_file(path, where or path)


class _TestRecord:
    """What one test produced that matters to the check."""

    def __init__(self, nodeid):
        self.nodeid = nodeid
        self.findings = []
        self.reported = 0
        self.tmp_path = None
        self.seen_files = {}        # path -> (size, mtime_ns) when last searched


class _RecordHandler(logging.Handler):
    """On the root logger: formats every record (traceback included) and searches it."""

    def __init__(self):
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record):
        if not _ACTIVE:
            return
        try:
            text = self.format(record)
        except Exception:       # a record that cannot be formatted: pytest's own handler says so
            return
        if SCANNER.hit(text):
            checker = _ACTIVE[-1]
            checker.add("log record (%s)" % checker.when, text)

    def handleError(self, record):
        pass


class _AsBefore(logging.Filter):
    """On pytest's handlers: drops the records that exist only because the root logger is open to every
    level, so captured logs, caplog and live logging show what they showed without the check."""

    def __init__(self, root_level):
        super().__init__()
        self.root_level = root_level

    def filter(self, record):
        if record.levelno >= self.root_level:
            return True
        logger = logging.root.manager.loggerDict.get(record.name)
        while isinstance(logger, logging.Logger) and logger is not logging.root:
            if logger.level:
                return True                     # a level set on the way allowed this record
            logger = logger.parent
        return logging.root.level != _OPEN_LEVEL  # caplog.set_level() or the like opened the root itself


_patched = None         # (Popen class, its own communicate) while patched
_root_level = None
_handler = _RecordHandler()


def _command_name(args):
    words = [args] if isinstance(args, (str, bytes)) else list(args or ())
    words = [os.path.basename(_as_text(w)) if i == 0 else _as_text(w) for i, w in enumerate(words[:4])]
    return SCANNER.mask(" ".join(words))[:120]


def _communicate(self, *args, **kwargs):
    out, err = _patched[1](self, *args, **kwargs)
    if _ACTIVE:
        for name, data in (("stdout", out), ("stderr", err)):
            if data:
                _ACTIVE[-1].add("subprocess output (%s of %s)" % (name, _command_name(self.args)), _as_text(data))
    return out, err


def _install(config):
    global _patched, _root_level
    if _patched is None:
        popen = subprocess.Popen        # gevent's once monkey-patched: both run() through communicate()
        _patched = (popen, popen.communicate)
        popen.communicate = _communicate
    if _root_level is None:
        root = logging.getLogger()
        _root_level = root.level
        root.setLevel(_OPEN_LEVEL)
        root.addHandler(_handler)
    plugin = config.pluginmanager.get_plugin("logging-plugin")
    as_before = _AsBefore(_root_level)
    for name in ("caplog_handler", "report_handler", "log_file_handler", "log_cli_handler"):
        handler = getattr(plugin, name, None)
        if isinstance(handler, logging.Handler):
            handler.addFilter(as_before)


def _uninstall():
    global _patched, _root_level
    if _patched is not None:
        _patched[0].communicate = _patched[1]
        _patched = None
    if _root_level is not None:
        root = logging.getLogger()
        root.removeHandler(_handler)
        if root.level == _OPEN_LEVEL:
            root.setLevel(_root_level)
        _root_level = None


class SecretCheck:
    """The pytest plugin object: one per session (see the module docstring)."""

    def __init__(self):
        self.current = None
        self.when = "setup"
        self.between = _TestRecord("(between tests)")   # output no test was running for
        self.last_nodeid = None
        self.spent = 0.0

    # -- collecting --------------------------------------------------------
    def _record(self):
        return self.current if self.current is not None else self.between

    def add(self, where, text):
        rec = self._record()
        if self.current is None and self.last_nodeid:
            where = "%s, after %s" % (where, self.last_nodeid)
        if len(rec.findings) < 4 * MAX_FINDINGS:
            rec.findings.extend(SCANNER.findings(where, text))

    def add_file(self, path, where):
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                return
            rec = self._record()
            state = (st.st_size, st.st_mtime_ns)
            if rec.seen_files.get(path) == state:
                return
            rec.seen_files[path] = state
            with open(path, "rb") as f:
                data = f.read(MAX_FILE_BYTES)
        except OSError:
            return
        text = _as_text(data)
        if SCANNER.hit(text):
            self.add("file %s" % where, text)

    def _scan_tmp_path(self, rec):
        top = str(rec.tmp_path)
        for folder, dirs, files in os.walk(top):
            if "pyvenv.cfg" in files:       # a virtualenv a test made: nothing of ours in there
                dirs[:] = []
                continue
            for name in files:
                if OUTPUT_NAME.search(name):
                    path = os.path.join(folder, name)
                    self.add_file(path, "tmp_path/" + os.path.relpath(path, top))

    # -- hooks ---------------------------------------------------------------
    def pytest_sessionstart(self, session):
        _install(session.config)
        _ACTIVE.append(self)

    def pytest_sessionfinish(self, session):
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if not _ACTIVE:
            _uninstall()
        if self.between.findings[self.between.reported:]:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.current = _TestRecord(item.nodeid)
        try:
            yield
        finally:
            self.current = None
            self.last_nodeid = item.nodeid

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        self.when = "setup"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        self.when = "call"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        self.when = "teardown"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        began = time.perf_counter()
        try:
            self._check(item, call.when, outcome.get_result())
        finally:
            self.spent += time.perf_counter() - began

    def _check(self, item, when, report):
        rec = self.current
        if rec is None:
            return
        if when == "setup" and self.between.findings[self.between.reported:]:
            rec.findings.extend(self.between.findings[self.between.reported:])
            self.between.reported = len(self.between.findings)
        if rec.tmp_path is None and when != "teardown":
            rec.tmp_path = (getattr(item, "funcargs", None) or {}).get("tmp_path")
        suffix = " " + when
        for title, content in report.sections:
            if title.endswith(suffix) and SCANNER.hit(content):
                self.add("%s (%s)" % (title.replace("Captured ", "captured ")[:-len(suffix)], when), content)
        if report.failed and report.longrepr is not None:
            self.add("failure text (%s)" % when, report.longreprtext)
        if rec.tmp_path is not None and when != "setup":
            self._scan_tmp_path(rec)
        if rec.findings:
            self._mask(report)
        new = rec.findings[rec.reported:]
        if new:
            rec.reported = len(rec.findings)
            self._fail(report, when, rec.nodeid, new)

    @staticmethod
    def _mask(report):
        report.sections = [(title, SCANNER.mask(content)) for title, content in report.sections]
        if report.failed and report.longrepr is not None and SCANNER.hit(report.longreprtext):
            report.longrepr = SCANNER.mask(report.longreprtext)

    @staticmethod
    def _fail(report, when, nodeid, findings):
        lines = ["secret check: a credential of tests/support/secrets.py appeared in what %s produced "
                 "(%s; shown masked as %s):" % (nodeid, when, MASK)]
        for where, number, line, names in findings[:MAX_FINDINGS]:
            lines.append("  %s%s [%s]: %s" % (where, ", line %d" % number if number else "", ", ".join(names), line))
        if len(findings) > MAX_FINDINGS:
            lines.append("  ... and %d more" % (len(findings) - MAX_FINDINGS))
        message = "\n".join(lines)
        before = report.longreprtext if report.failed and report.longrepr is not None else ""
        report.outcome = "failed"
        report.longrepr = (before + "\n\n" + message) if before else message
        if hasattr(report, "wasxfail"):
            del report.wasxfail

    def pytest_terminal_summary(self, terminalreporter):
        leftover = self.between.findings[self.between.reported:]
        if leftover:
            terminalreporter.write_sep("=", "secret check: secrets in output produced between tests", red=True)
            for where, number, line, names in leftover[:MAX_FINDINGS]:
                terminalreporter.write_line("  %s [%s]: %s" % (where, ", ".join(names), line))
        if terminalreporter.config.getoption("verbose") > 0:
            terminalreporter.write_line("secret check: %.2fs spent in report hooks" % self.spent)


def pytest_configure(config):
    config.pluginmanager.register(SecretCheck(), "secretcheck-session")
