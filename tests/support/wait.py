"""Waiting on conditions (never sleeping blindly) in tests."""
import time

import gevent


def wait_for(condition, timeout=5.0, interval=0.005, message=None):
    """Poll ``condition()`` until it is truthy; return its value, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(message or "condition not met within %.1fs: %r" % (timeout, condition))
        gevent.sleep(interval)
