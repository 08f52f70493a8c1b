"""Hypothesis strategies shared by the hostile-input tests: JSON values of every type, nested."""
from hypothesis import HealthCheck, settings, strategies as st

from ariproxy.jsonutil import dumps


def small_runs(examples):
    """A few dozen examples, no deadline, the same ones every run (fast on a loaded machine)."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


scalars = (st.none() | st.booleans() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
           | st.floats(allow_nan=False) | st.text(max_size=40))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=25)


def encodable(v):
    """True when ``dumps`` takes ``v`` (hypothesis text may hold lone surrogates)."""
    try:
        dumps(v)
        return True
    except (TypeError, ValueError, UnicodeEncodeError):
        return False
