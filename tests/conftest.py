# gevent first: every module under test is used monkey-patched, as the daemon and apps use it.
from gevent import monkey

monkey.patch_all()

import importlib.util  # noqa: E402

# Fixture modules of tests/support (nats-server, simulator, in-process proxy).
_PLUGINS = ("tests.support.shared", "tests.support.nats", "tests.support.sim", "tests.support.proxy")
pytest_plugins = [name for name in _PLUGINS if importlib.util.find_spec(name) is not None]
