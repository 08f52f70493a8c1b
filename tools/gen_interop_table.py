#!/usr/bin/env python3
"""Write docs/INTEROP.md: per request kind, the tests proving Go <-> Python interoperability (the README links it).

The rows come from the interop tests' own parametrisation (``pytest
--collect-only`` of ``tests/test_interop_*.py``), so the table names exactly
the tests that exist.  With ``--run`` the tests are run too (junit XML) and
each cell says how many of its tests passed; without it the cells list the
tests only.  Needs the shared recordings (``../shared`` or ARIPROXY_SHARED):
without them the tests are not parametrised and the table would be empty, so
the script refuses.

    .venv/bin/python tools/gen_interop_table.py --run      # rewrite docs/INTEROP.md
    .venv/bin/python tools/gen_interop_table.py --check    # exit 1 if the file is stale (no run)

Blocks while pytest collects (about a second) or runs (about ten).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "docs", "INTEROP.md")
TEST_FILES = ["tests/test_interop_server.py", "tests/test_interop_server_two.py", "tests/test_interop_protocol.py",
              "tests/test_interop_client.py"]
GENERIC = "AriCall (the project's generic kind)"

# test function -> (column, how the kind is read from the parameter id)
SERVER_TESTS = {
    "test_python_server_answers_recorded_go_request": "replay",
    "test_two_python_servers_answer_like_two_go_servers": "replay",
    "test_recorded_request_decodes_and_maps_to_ari": "replay",
    "test_kinds_json_examples_decode": "kind",
}
CLIENT_TESTS = {
    "test_client_request_matches_go_request_and_decodes_go_reply": "kind",
    "test_client_request_matches_recorded_go_variant": "replay",
    "test_client_decodes_every_recorded_go_reply": "replay",
}
GENERIC_CLIENT_TEST = "tests/test_interop_client.py::test_generic_kind_against_a_go_server_says_unsupported"


def _python():
    venv = os.path.join(REPO, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def collect():
    out = subprocess.run([_python(), "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
                         + TEST_FILES, cwd=REPO, capture_output=True, text=True)
    ids = [line.strip() for line in out.stdout.splitlines() if "::" in line]
    if not ids:
        sys.exit("no interop tests collected (are the shared recordings there?)\n" + out.stdout + out.stderr)
    return ids


def run(ids):
    """Run the interop tests; node id -> 'passed' | 'failed' | 'skipped'."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = os.path.join(tmp, "junit.xml")
        subprocess.run([_python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", xml]
                       + TEST_FILES, cwd=REPO, capture_output=True, text=True)
        tree = ET.parse(xml)
    status = {}
    for case in tree.iter("testcase"):
        module = case.get("classname").replace(".", "/") + ".py"
        node = "%s::%s" % (module, case.get("name"))
        if case.find("failure") is not None or case.find("error") is not None:
            status[node] = "failed"
        elif case.find("skipped") is not None:
            status[node] = "skipped"
        else:
            status[node] = "passed"
    return status


def kind_of(node):
    """(test function, kind) of a node id, or None when it is not per kind."""
    m = re.match(r"^[^:]+::(\w+)\[(.*)\]$", node)
    if not m:
        return None
    func, param = m.groups()
    mode = SERVER_TESTS.get(func) or CLIENT_TESTS.get(func)
    if mode == "replay":
        return func, param.split("-", 2)[2]
    if mode == "kind":
        return func, param
    return None


def kinds_tsv():
    sys.path.insert(0, REPO)
    from tests.support.shared import SHARED
    path = os.path.join(SHARED, "fixtures", "kinds.tsv")
    with open(path, encoding="utf-8") as f:
        rows = [line.split() for line in f.read().splitlines()[1:] if line.strip()]
    return [(r[0], r[1]) for r in rows]


def cell(nodes, status):
    if not nodes:
        return "-"
    first = "`%s`" % nodes[0]
    more = " (+%d)" % (len(nodes) - 1) if len(nodes) > 1 else ""
    if status is None:
        return first + more
    passed = sum(1 for n in nodes if status.get(n) == "passed")
    failed = [n for n in nodes if status.get(n) == "failed"]
    mark = "pass" if not failed and passed else ("FAIL" if failed else "skip")
    detail = "%s %d/%d" % (mark, passed, len(nodes))
    if failed:
        first = "`%s`" % failed[0]
    return "%s: %s%s" % (detail, first, more)


def render(ids, status):
    server, client = {}, {}
    for node in ids:
        parsed = kind_of(node)
        if parsed is None:
            continue
        func, kind = parsed
        target = server if func in SERVER_TESTS else client
        target.setdefault(kind, []).append(node)
    lines = [
        "# Interoperability with the Go ari-proxy (v5)",
        "",
        "Generated by `tools/gen_interop_table.py` from the parametrisation of `tests/test_interop_*.py`"
        " (do not edit by hand).",
        "",
        "- **Python server <- Go client**: the Go client's recorded requests for the kind (`../shared/fixtures/"
        "go-wire/`), byte for byte, decoded by the protocol layer and answered by a Python server on the"
        " simulator (one and two servers) with the reply shape the Go client decodes.",
        "- **Go server <- Python client**: the Python client's request for the kind (and for recorded variants:"
        " dialog keys, no node, options), compared field by field with the Go client's recorded one, sent to a"
        " fake Go server that answers with the Go server's recorded replies (every one recorded for the kind),"
        " which the client must decode into its normal objects or exceptions.",
        "- Events, Go error strings, Go quirks and defects: see the other tests of"
        " `tests/test_interop_server.py` and `tests/test_interop_client.py`.",
        "",
    ]
    if status is not None:
        total = len(status)
        passed = sum(1 for s in status.values() if s == "passed")
        failed = sum(1 for s in status.values() if s == "failed")
        lines += ["Last run: %d interop tests, %d passed, %d failed, %d skipped." % (
            total, passed, failed, total - passed - failed), ""]
    lines += table(ids, status, server, client)
    lines += differences()
    unknown = sorted(set(server) - {k for k, _ in kinds_tsv()})
    if unknown:
        lines += ["", "Requests Go does not serve (an unknown or empty kind: `Not implemented` from both servers;"
                  " not JSON: no Go reply, an error reply from Python): "
                  + ", ".join("`%s` (%s)" % (k or "<empty>", cell(server[k], status)) for k in unknown)]
    return "\n".join(lines) + "\n"


def table(ids, status, server, client):
    """The per-kind table (markdown lines) of docs/INTEROP.md."""
    lines = ["| kind | class | Python server <- Go client | Go server <- Python client |",
             "|---|---|---|---|"]
    for kind, cls in kinds_tsv():
        lines.append("| %s | %s | %s | %s |" % (kind, cls, cell(server.get(kind, []), status),
                                               cell(client.get(kind, []), status)))
    generic_server = ("- (Go clients never send it; the Python server serves it: "
                      "`tests/test_server_kinds.py`, case AriCall)")
    generic_client = cell([GENERIC_CLIENT_TEST] if GENERIC_CLIENT_TEST in ids else [], status)
    lines.append("| %s | command/data | %s | %s |" % (GENERIC, generic_server, generic_client))
    return lines


def differences():
    """The documented differences, read from the test modules' tables (no test is run)."""
    sys.path.insert(0, REPO)
    from tests import test_interop_protocol as proto
    from tests import test_interop_client as cli
    from tests import test_interop_server as srv
    out = ["", "## Documented differences", "",
           "Where a Python reply may differ from the recorded Go one (`DIVERGENCES` in"
           " `tests/test_interop_server.py`):", ""]
    for xid, (mode, why) in sorted(srv.DIVERGENCES.items()):
        out.append("- `%s` (%s): %s" % (xid, mode, why))
    out += ["", "Recorded requests the Go server refuses and the Python protocol layer refuses too"
            " (`GO_REJECTS` in `tests/test_interop_protocol.py`):", ""]
    for xid, why in sorted(proto.GO_REJECTS.items()):
        out.append("- `%s`: %s" % (xid, why))
    out += ["", "Python client requests that differ from the Go client's, on purpose (accepted by the Go server):",
            "", "- key fields %s: a List is scoped to the client's application where the Go client sends"
            " `key: {}` to the bare subject" % ", ".join("`%s`" % r for r in cli.ROUTING)]
    for xid, (_driver, generated) in sorted(cli.VARIANTS.items()):
        if generated:
            out.append("- `%s`: %s filled with an id the client generates (it subscribes to the new entity"
                       " before creating it)" % (xid, ", ".join("`%s`" % g for g in generated)))
    out.append("- ChannelStageExternalMedia is sent as itself; the Go client sends it as kind"
               " ChannelStageOriginate, which the Go server refuses (`main-0299-ChannelStageOriginate`)")
    out += ["", "Fields Go's fake Asterisk sent that a real Asterisk 22 does not (`REAL_ASTERISK_OMITS`):", ""]
    for path, why in sorted(srv.REAL_ASTERISK_OMITS.items()):
        out.append("- `%s`: %s" % (path, why))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="store_true", help="run the tests and record pass/fail in the table")
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/INTEROP.md lacks a collected test")
    args = ap.parse_args()
    ids = collect()
    if args.check:
        with open(OUT, encoding="utf-8") as f:
            text = f.read()
        missing = [k for k, _ in kinds_tsv() if "| %s |" % k not in text]
        if missing:
            sys.exit("docs/INTEROP.md lacks kinds: %s" % ", ".join(missing))
        return
    status = run(ids) if args.run else None
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(render(ids, status))
    print("wrote %s (%d tests)" % (OUT, len(ids)))


if __name__ == "__main__":
    main()
