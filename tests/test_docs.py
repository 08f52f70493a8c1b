"""Documentation and packaging that cannot drift: the configuration reference, the CLI table, the quick
start, the license, the package metadata, the tests the faults table cites."""
import ast
import glob
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as f:
        return f.read()


def setup_kwargs():
    """The keyword arguments of setup() in setup.py, as literals where they are literals."""
    tree = ast.parse(read("setup.py"))
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "setup")
    out = {}
    for kw in call.keywords:
        try:
            out[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            out[kw.arg] = None
    return out


def test_readme_configuration_reference_is_generated_from_the_option_table():
    result = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_config_reference.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    from ariproxy.server.config import OPTIONS
    readme = read("README.md")
    for option in OPTIONS:
        assert "`%s`" % option.key in readme and "`%s" % option.flag in readme, option.key


def test_readme_documents_every_cli_subcommand():
    from ariproxy.cli import build_parser
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    readme = read("README.md")
    for name in commands:
        assert "`ariproxy %s" % name in readme, name


def test_quick_start_commands_exist_and_make_run_asks_for_the_demo():
    readme = read("README.md")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make run" in quick and "make test" in quick
    makefile = read("Makefile")
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "--embedded" in run and "ari-proxy" in run
    assert "\ntest:" in makefile


def test_license_matches_the_declared_license_and_ships():
    kwargs = setup_kwargs()
    assert kwargs["license"] == "Apache-2.0"
    text = read("LICENSE")
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert kwargs["license_files"] == ["LICENSE"]


def test_package_metadata_is_complete_and_names_only_real_files():
    kwargs = setup_kwargs()
    assert kwargs.get("package_data") in (None, {}) or all(
        glob.glob(os.path.join(REPO, package.replace(".", os.sep), pattern))
        for package, patterns in kwargs["package_data"].items() for pattern in patterns)
    classifiers = kwargs["classifiers"]
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert any(c.startswith("Topic :: Communications :: Telephony") for c in classifiers)
    assert kwargs["python_requires"] == ">=3.9" and kwargs["project_urls"]
    scripts = kwargs["entry_points"]["console_scripts"]
    assert any(s.startswith("ari-proxy=") for s in scripts) and any(s.startswith("ariproxy=") for s in scripts)
    pyproject = read("pyproject.toml")
    assert 'build-backend = "setuptools.build_meta"' in pyproject


def test_readme_is_of_a_sensible_length_and_links_the_interop_table():
    readme = read("README.md")
    assert len(readme.splitlines()) < 450
    assert "docs/INTEROP.md" in readme and "| ApplicationData |" not in readme
    assert "| ApplicationData |" in read("docs", "INTEROP.md")
    # the old claim that Python and Go listeners share calls through one queue group is gone
    assert "so Python and Go apps can share" not in readme
    assert "every Go listener receives every StasisStart" in readme
    assert "ariproxy.NotConnected" in readme


# -- the faults table: every test it cites exists --------------------------------------------------

CITATION = re.compile(r"`(tests/[^`\s]*)`")
STRICT_CITATION = re.compile(r"^(tests/[\w/]+\.py)(?:::(test_\w+))?$")
# every fault scenario and hostile-input item of issue 14 has a row (words of its fault column)
FAULT_SCENARIOS = ["kill -9", "SIGSTOP", "3-node", "drops the websocket", "refuses connections",
                   "new entity id", "slowly", "500", "never reads", "SIGTERM", "Client.new()",
                   "hypothesis", "injection", "credentials", "10,000 requests", "write timeout",
                   "NATS restart", "soak"]


def faults_table():
    """The rows of the README's faults table, each as its three cells (fault, what happens, tests)."""
    section = read("README.md").split("\n## Faults", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert len(lines) > 2 and set(lines[1].replace("|", "")) <= set("-: "), "no table in ## Faults"
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        assert len(cells) == 3, "a faults row needs 3 cells: %r" % line
        rows.append(cells)
    return rows


def defined_tests(path):
    """The names of the test functions (top level or in classes) defined in one test file."""
    tree = ast.parse(read(path))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")}


def check_citations(text, where):
    """Every `tests/...` citation in text is `tests/FILE.py` or `tests/FILE.py::test_name`, and exists."""
    cited = CITATION.findall(text)
    for citation in cited:
        match = STRICT_CITATION.match(citation)
        assert match, "%s: cite tests as `tests/FILE.py::test_name`, not %r" % (where, citation)
        path, name = match.groups()
        assert os.path.isfile(os.path.join(REPO, path)), "%s cites %s: no such file" % (where, path)
        if name:
            assert name in defined_tests(path), "%s cites %s: no test %s in %s" % (where, citation, name, path)
    return cited


def test_readme_faults_table_cites_tests_that_exist():
    rows = faults_table()
    for fault, _what, tests in rows:
        assert "::" in tests, "README faults row %r names no test function" % fault
        check_citations(tests, "README faults row %r" % fault)
    faults = " ".join(fault for fault, _what, _tests in rows)
    for scenario in FAULT_SCENARIOS:
        assert scenario in faults, "no README faults row for %r" % scenario
    assert "at most once" in read("README.md").split("\n## Faults", 1)[1].split("\n## ", 1)[0]
    assert "docs/FAULTS.md" in read("README.md")


def test_the_long_form_of_the_faults_table_cites_tests_that_exist():
    assert check_citations(read("docs", "FAULTS.md"), "docs/FAULTS.md")
