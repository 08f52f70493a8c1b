"""Interactive use: a prompt whose waiting lets gevent run (``ariproxy shell``, ``ariproxy.interactive()``).

gevent's loop only runs when the main greenlet blocks *in gevent*.  A plain
``input()`` blocks in the C library instead, so at an idle prompt no greenlet
runs: NATS messages pile up unread, subscriptions see events late (or lose them
to their bounded queues), ``client.on`` callbacks do not fire, and NATS, getting
no answer to its pings, drops the connection as stale.  Here the prompt waits
for the terminal with ``gevent.select``, so the loop keeps running while you
think: events arrive live and the connection stays up.

- :func:`interactive`: call it first thing in a plain ``python`` prompt; it
  patches gevent (if not done yet) and sets CPython's ``PyOS_InputHook`` so
  gevent runs while readline waits; IPython, if that is what runs, gets a
  prompt_toolkit input hook instead (``ariproxy shell`` is safer there: it
  patches gevent before IPython starts its threads).
- :func:`run_shell`: what ``ariproxy shell`` runs: patches gevent, connects a
  client (``client``), then IPython when installed (with the gevent input hook),
  else :class:`code.InteractiveConsole` with the gevent-friendly input.  Ctrl-D
  or ``exit()`` leaves without a traceback and closes the client.
"""
from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all()

import builtins  # noqa: E402
import code  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import gevent.select  # noqa: E402

__all__ = ["interactive", "run_shell", "gevent_input", "GeventConsole", "ipython_inputhook"]

BANNER = """ariproxy %(version)s interactive shell; gevent keeps running while the prompt waits.
  client  = %(client)r
  client.nodes(), client.channels.list(), client.subscribe("StasisStart"), client.on(type, callback)
  ariproxy.NotConnected, ariproxy.Timeout, ...  Ctrl-D leaves."""


def _wait_readable(fileno):
    """Block the calling greenlet (only) until ``fileno`` is readable; the hub runs meanwhile."""
    while True:
        readable, _, _ = gevent.select.select([fileno], [], [], 1.0)
        if readable:
            return


def gevent_input(prompt=""):
    """``input()`` that lets other greenlets run while it waits for a line (EOFError at end of input)."""
    stdin, stdout = sys.stdin, sys.stdout
    if prompt:
        stdout.write(prompt)
        stdout.flush()
    try:
        fileno = stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return _original_input(prompt="")
    _wait_readable(fileno)
    line = stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


_original_input = builtins.input


class GeventConsole(code.InteractiveConsole):
    """``code.InteractiveConsole`` reading its lines with :func:`gevent_input`."""

    def raw_input(self, prompt=""):
        return gevent_input(prompt)


def ipython_inputhook(context):
    """prompt_toolkit input hook for IPython: run gevent until the terminal has input."""
    _wait_readable(context.fileno())


def _install_ipython_hook(shell):
    """Register and enable the gevent input hook on a running IPython ``shell``; False if it cannot."""
    try:
        from IPython.terminal import pt_inputhooks
        pt_inputhooks.register("gevent", ipython_inputhook)
        shell.enable_gui("gevent")
        return True
    except Exception:
        return False


_HOOK = None   # the ctypes callback installed as PyOS_InputHook (kept alive here)


def _install_input_hook():
    """Set CPython's ``PyOS_InputHook`` (called by readline while the REPL waits) to run gevent.

    Returns True when installed.  Each call lets the hub run for 50 ms, then
    readline looks at the terminal again (it calls the hook about ten times a second).
    """
    global _HOOK
    if _HOOK is not None:
        return True
    try:
        import ctypes

        @ctypes.CFUNCTYPE(ctypes.c_int)
        def hook():
            try:
                gevent.sleep(0.05)
            except BaseException:   # never let an exception cross into C
                pass
            return 0

        ctypes.c_void_p.in_dll(ctypes.pythonapi, "PyOS_InputHook").value = ctypes.cast(hook, ctypes.c_void_p).value
        _HOOK = hook
        return True
    except Exception:
        return False


def interactive():
    """Make the current interactive prompt gevent-friendly; call it first (before creating clients).

    Patches gevent if not done yet, then: under IPython enables a gevent input
    hook; under the plain ``python`` prompt sets ``PyOS_InputHook`` so gevent
    runs while readline waits for a line (and ``input()`` yields to gevent).
    Returns a short description of what it did.  Safest of all: ``ariproxy shell``.
    """
    try:
        shell = get_ipython()  # noqa: F821  (defined inside IPython)
    except NameError:
        shell = None
    if shell is not None:
        if _install_ipython_hook(shell):
            return "IPython: gevent input hook enabled"
        return "IPython: could not enable the gevent input hook (prompt_toolkit too old?)"
    if _install_input_hook():
        return "python prompt: gevent runs while the prompt waits"
    builtins.input = gevent_input
    return "input() now yields to gevent (the REPL's own prompt could not be hooked)"


def run_shell(nats_url=None, application=None, prefix="ari.", timeout=2.0, stdin=None, banner=True):
    """Connect a client and run the interactive prompt until Ctrl-D / exit(); returns the exit status."""
    import ariproxy
    from ariproxy.client import Client
    try:
        client = Client(application=application or None, url=nats_url, prefix=prefix, timeout=timeout,
                        name="ariproxy-shell")
    except Exception as e:
        from ariproxy.jsonutil import mask_url
        sys.stderr.write("ariproxy: cannot connect to NATS at %s: %s\n" % (mask_url(nats_url or "?"), e))
        return 1
    namespace = {"client": client, "ariproxy": ariproxy, "gevent": gevent}
    text = BANNER % {"version": ariproxy.__version__, "client": client} if banner else ""
    try:
        if not os.environ.get("ARIPROXY_SHELL_PLAIN"):
            try:
                import IPython  # noqa: F401
            except ImportError:
                IPython = None
            if IPython is not None and sys.stdin.isatty():
                return _run_ipython(namespace, text)
        console = GeventConsole(locals=namespace)
        try:
            console.interact(banner=text, exitmsg="")
        except SystemExit:
            pass
        return 0
    finally:
        try:
            client.close()
        except Exception:
            pass


def _run_ipython(namespace, text):
    from IPython.terminal.embed import InteractiveShellEmbed
    shell = InteractiveShellEmbed(user_ns=namespace, banner1=text + "\n", exit_msg="", confirm_exit=False)
    _install_ipython_hook(shell)
    try:
        shell()
    except SystemExit:
        pass
    return 0
