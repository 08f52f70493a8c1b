"""Where the team's shared folder (spec, recordings, protocol) lives.

CI has ``../shared`` beside the clone; a user's fresh clone does not.  Tests
that read it use the ``shared`` fixture, which skips with a reason naming the
folder (and the ARIPROXY_SHARED variable that can point at another copy).
"""
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("ARIPROXY_SHARED") or os.path.join(os.path.dirname(REPO), "shared")


def missing_reason(path=SHARED):
    """The skip reason for a test that needs ``path`` inside the absent shared folder."""
    return "needs %s (the team's shared folder beside the clone; set ARIPROXY_SHARED to another copy)" % path


def shared_path(*parts):
    """Path inside the shared folder; skips the calling test when it is missing."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip(missing_reason(path))
    return path


def pytest_collection_modifyitems(items):
    """Without the shared folder, tests parametrized from it have no parameters: say why they skip
    (pytest's own reason, "got empty parameter set", does not)."""
    if os.path.exists(SHARED):
        return
    for item in items:
        mark = item.get_closest_marker("skip")
        if mark is not None and str(mark.kwargs.get("reason", "")).startswith("got empty parameter set"):
            item.add_marker(pytest.mark.skip(reason=missing_reason() + ": its parameters come from there"),
                            append=False)


@pytest.fixture(scope="session")
def shared():
    """The shared folder's path (skip when absent)."""
    return shared_path()
