"""``WorkerPool``: run request jobs on reusable greenlets, at most ``size`` at once.

A fresh greenlet per request (``gevent.pool.Pool.spawn``) costs creating,
linking and tearing down a greenlet each time, several times the cost of
handing a job to a greenlet that already exists.  Here a worker that
finished a job parks itself (at most ``idle_max`` of them) and the next
job is handed to it through one hub callback.

``spawn()`` never blocks (check ``full()`` first: the server answers
``busy`` rather than queueing); ``hold()``/``release()`` count a job that
needs no greenlet (a request waiting for its answer on the ARI websocket);
``join(timeout)`` blocks until no job runs; ``close()`` ends every worker.
"""
import logging

import gevent
from gevent import getcurrent
from gevent.event import Event

__all__ = ["WorkerPool"]

log = logging.getLogger("ariproxy.server")


class WorkerPool:
    """At most ``size`` jobs at once on reusable greenlets; ``len(pool)`` is the number running."""

    def __init__(self, size, idle_max=128):
        self.size = size
        self.idle_max = idle_max
        self._running = 0
        self._parked = []       # idle workers, waiting in the hub for their next job
        self._workers = set()   # every live worker (running or parked)
        self._done = Event()
        self._done.set()
        self._closed = False

    def __len__(self):
        return self._running

    def full(self):
        return self._running >= self.size

    def spawn(self, func, *args):
        """Run ``func(*args)`` on a worker greenlet; returns at once."""
        self._running += 1
        if self._done.is_set():
            self._done.clear()
        if self._parked:
            gevent.get_hub().loop.run_callback(self._resume, self._parked.pop(), func, args)
        else:
            self._start(func, args)

    def hold(self):
        """Count a job that runs without a worker greenlet (it calls ``release()`` once, when done)."""
        self._running += 1
        if self._done.is_set():
            self._done.clear()

    def release(self):
        """A job counted by ``hold()`` is done."""
        self._running -= 1
        if not self._running:
            self._done.set()

    def _start(self, func, args):
        worker = gevent.Greenlet(self._work, func, args)
        self._workers.add(worker)
        worker.start()

    def _resume(self, worker, func, args):
        # In the hub.  A worker killed since it parked gets no job: a new greenlet takes it.
        if worker.dead:
            self._start(func, args)
        else:
            worker.switch((func, args))

    def _work(self, func, args):
        me = getcurrent()
        hub = gevent.get_hub()
        try:
            while True:
                try:
                    func(*args)
                except Exception:
                    log.exception("request worker: job failed")
                finally:
                    self._running -= 1
                    if not self._running:
                        self._done.set()
                func = args = None
                if self._closed or len(self._parked) >= self.idle_max:
                    return
                self._parked.append(me)
                # Parked in the hub until spawn() hands over the next job (or close() kills us).
                func, args = hub.switch()
        finally:
            self._workers.discard(me)
            if me in self._parked:
                self._parked.remove(me)

    def join(self, timeout=None):
        """Block until no job is running (True) or ``timeout`` passes (False)."""
        return self._done.wait(timeout)

    def kill(self):
        """End every worker now, running jobs included (they get GreenletExit)."""
        for worker in list(self._workers):
            worker.kill(block=False)

    def close(self):
        """No more parked workers: idle ones end now, running ones when their job is done."""
        self._closed = True
        parked, self._parked = self._parked, []
        for worker in parked:
            worker.kill(block=False)
