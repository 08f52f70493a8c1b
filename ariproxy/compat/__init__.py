"""Compatibility layers for existing ARI programs: ``from ariproxy.compat import ari`` (ari-py's API).

ariproxy runs under gevent.  ari-py programs do not monkey-patch, so when
this package is imported in a process that has not patched yet, it calls
``gevent.monkey.patch_all()`` itself (threads become greenlets, as the
program's ``thread.start_new_thread(client.run, ...)`` then needs) and makes
``sys.stdin`` reads cooperative (a program waiting in ``sys.stdin.readline()``
keeps handling calls).  Set ``ARIPROXY_COMPAT_PATCH=0`` to leave the process
alone (then patch it yourself, first thing).
"""
import os
import sys

PATCH_ENV = "ARIPROXY_COMPAT_PATCH"


def _patch():
    from gevent import monkey
    if monkey.is_module_patched("socket"):
        return False  # the application (or a test runner) patched already: leave it as it is
    if os.environ.get(PATCH_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    import warnings
    with warnings.catch_warnings():
        # ari-py programs often import requests (and so ssl) before ari; that is fine for plain HTTP
        warnings.simplefilter("ignore", monkey.MonkeyPatchWarning)
        monkey.patch_all()
    if sys.stdin is not None and not isinstance(sys.stdin, _CooperativeInput):
        sys.stdin = _CooperativeInput(sys.stdin)
    return True


class _CooperativeInput:
    """``sys.stdin`` whose reads wait in gevent's thread pool, so other greenlets run meanwhile."""

    def __init__(self, raw):
        self._raw = raw

    def _blocking(self, fn, *args):
        import gevent
        return gevent.get_hub().threadpool.apply(fn, args)

    def readline(self, *args):
        return self._blocking(self._raw.readline, *args)

    def read(self, *args):
        return self._blocking(self._raw.read, *args)

    def readlines(self, *args):
        return self._blocking(self._raw.readlines, *args)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name):
        return getattr(self._raw, name)


PATCHED = _patch()

__all__ = ["ari", "PATCHED", "PATCH_ENV"]

