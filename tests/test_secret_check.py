"""The suite-wide secret check (tests/support/secretcheck.py) can fail: an inner pytest session, with only
that plugin, runs tests that leak a secret through each stream and one that only uses it as input."""
import os
import re

from tests.support.secrets import ARI_PASSWORD, LITERAL_SECRETS, NATS_PASSWORD, NATS_TOKEN, SECRETS
from tests.support.secretcheck import SecretScanner

pytest_plugins = ["pytester"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

INNER_TESTS = '''
import logging
import subprocess
import sys

import pytest

from tests.support.secrets import ARI_PASSWORD, NATS_PASSWORD, NATS_TOKEN, WRONG_PASSWORD

log = logging.getLogger("inner.product")


def test_debug_log_record():
    log.debug("connecting with password %s", ARI_PASSWORD)


def test_traceback_of_a_log_record():
    try:
        raise ValueError("refused " + NATS_TOKEN)
    except ValueError:
        log.warning("connect failed", exc_info=True)


def test_stderr():
    print("the password is", WRONG_PASSWORD, file=sys.stderr)


def test_exception():
    raise RuntimeError("cannot log in to nats://u:%s@127.0.0.1:4222" % NATS_PASSWORD)


def test_log_file_in_tmp_path(tmp_path):
    (tmp_path / "server.log").write_text("ready\\nconnected to nats://u:%s@h\\n" % NATS_PASSWORD)


def test_subprocess_output():
    code = "import sys; print(sys.argv[1])"
    done = subprocess.run([sys.executable, "-c", code, ARI_PASSWORD], capture_output=True, text=True)
    assert done.returncode == 0


def test_half_masked_url():
    log.error("connecting to nats://u:***@ssLeak@127.0.0.1:4222")


@pytest.fixture
def leaks_at_teardown():
    yield
    log.error("closing with %s", ARI_PASSWORD)


def test_teardown_log_record(leaks_at_teardown):
    pass


def test_secret_only_as_input(tmp_path):
    config = tmp_path / "ari-proxy.conf"
    config.write_text("[ari]\\nari_password = %s\\n" % ARI_PASSWORD)
    url = "nats://u:%s@h" % NATS_PASSWORD
    masked = url.replace(NATS_PASSWORD, "***")
    assert NATS_PASSWORD not in masked
    print("masked:", masked)
    log.warning("config read from %s", config)
'''

# test name -> (outcome, the stream its failure must name)
EXPECTED = {
    "test_debug_log_record": ("failed", "log record (call)"),
    "test_traceback_of_a_log_record": ("failed", "log record (call)"),
    "test_stderr": ("failed", "captured stderr (call)"),
    "test_exception": ("failed", "failure text (call)"),
    "test_log_file_in_tmp_path": ("failed", "file tmp_path/server.log, line 2"),
    "test_subprocess_output": ("failed", "subprocess output (stdout of python"),
    "test_half_masked_url": ("failed", "log record (call)"),
    "test_teardown_log_record": ("error", "log record (teardown)"),
}


def _sections(output):
    """The failure/error sections of a pytest run, by test name."""
    found = {}
    parts = re.split(r"\n_{3,} (?:ERROR at teardown of )?(test_\w+) _{3,}\n", output)
    for name, body in zip(parts[1::2], parts[2::2]):
        found[name] = body.split("\n=====")[0]
    return found


def test_each_stream_fails_the_test_and_inputs_do_not(pytester, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", REPO)
    pytester.makeconftest('pytest_plugins = ["tests.support.secretcheck"]\n')
    pytester.makepyfile(test_inner=INNER_TESTS)
    basetemp = tmp_path_factory.mktemp("secretcheck-inner")   # outside this test's tmp_path
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--basetemp", str(basetemp), "-rA")
    output = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(failed=7, passed=2, errors=1)
    sections = _sections(output)
    for name, (outcome, stream) in EXPECTED.items():
        text = sections.get(name, "")
        assert "secret check: a credential of tests/support/secrets.py appeared in what" in text, (name, output)
        assert "test_inner.py::%s" % name in text and stream in text and "***" in text, (name, text)
    assert re.search(r"PASSED test_inner.py::test_secret_only_as_input", output), output
    assert "secret check" not in sections.get("test_secret_only_as_input", "")
    # the report names the secret, never shows it (nor a piece of it)
    assert "[ARI_PASSWORD]" in sections["test_debug_log_record"]
    assert "[FAULT_FIXES_NATS_AT]" in sections["test_half_masked_url"]
    assert SecretScanner(SECRETS).names(output) == [], "a secret in the inner run's report"


def test_scanner_finds_encoded_and_half_masked_forms():
    scanner = SecretScanner({"A": "p@ss:w/rd-Leak", "B": NATS_TOKEN})
    assert scanner.names("nats://u:***@ss:w/rd-Leak@h") == ["A"]
    assert scanner.names("x=p%40ss%3Aw%2Frd-Leak") == ["A"]
    assert scanner.names("nats://%s@h" % NATS_TOKEN) == ["B"]
    assert scanner.names("nats://u:***@h and a Leak") == []
    assert scanner.mask("tok %s and p@ss:w/rd-Leak" % NATS_TOKEN) == "tok *** and ***"
    ((where, number, line, names),) = scanner.findings("stderr", "fine\nbad %s here\n" % NATS_TOKEN)
    assert (where, number, line, names) == ("stderr", 2, "bad *** here", ["B"])


def test_the_secrets_are_distinct_and_distinctive():
    values = [ARI_PASSWORD, NATS_PASSWORD, NATS_TOKEN] + list(LITERAL_SECRETS.values())
    assert len(set(SECRETS.values())) == len(SECRETS) and set(values) <= set(SECRETS.values())
    assert all(len(v) >= 8 for v in SECRETS.values())
