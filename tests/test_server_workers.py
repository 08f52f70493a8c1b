"""ariproxy.server.workers.WorkerPool: reuse, the limit, join, kill and close."""
import gevent
from gevent.event import Event

from ariproxy.server.workers import WorkerPool
from tests.support.wait import wait_for


def test_workers_are_reused_and_counted():
    pool = WorkerPool(10)
    seen = []
    for i in range(5):
        pool.spawn(lambda i=i: seen.append((i, gevent.getcurrent())))
        assert pool.join(timeout=5)
    assert [i for i, _ in seen] == list(range(5))
    assert len({id(g) for _, g in seen}) == 1      # one greenlet served them all
    assert len(pool) == 0 and not pool.full()


def test_limit_join_and_failing_jobs():
    pool = WorkerPool(3)
    release = Event()
    for _ in range(3):
        pool.spawn(release.wait)
    gevent.sleep(0)
    assert len(pool) == 3 and pool.full()
    assert not pool.join(timeout=0.05)
    release.set()
    assert pool.join(timeout=5) and not pool.full()
    pool.spawn(lambda: 1 / 0)                      # logged, the worker survives
    assert pool.join(timeout=5)
    done = []
    pool.spawn(done.append, 1)
    assert pool.join(timeout=5) and done == [1]


def test_kill_ends_running_jobs_and_close_ends_parked_workers():
    pool = WorkerPool(5, idle_max=2)
    block = Event()
    for _ in range(4):
        pool.spawn(block.wait)
    gevent.sleep(0)
    pool.kill()
    assert pool.join(timeout=5) and len(pool) == 0
    for _ in range(4):
        pool.spawn(lambda: None)
    assert pool.join(timeout=5)
    wait_for(lambda: len(pool._parked) == 2 and len(pool._workers) == 2, timeout=5)   # idle_max
    pool.close()
    wait_for(lambda: not pool._workers, timeout=5)


def test_a_job_handed_to_a_worker_killed_meanwhile_still_runs():
    pool = WorkerPool(5)
    pool.spawn(lambda: None)
    assert pool.join(timeout=5)
    gevent.sleep(0)
    parked = pool._parked[0]
    done = Event()
    parked.kill(block=False)      # the kill is scheduled first...
    pool.spawn(done.set)          # ...then the hand-over to that same parked worker
    assert done.wait(timeout=5) and pool.join(timeout=5)
    assert parked.dead
