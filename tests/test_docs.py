"""Documentation and packaging that cannot drift: the configuration reference, the CLI table, the quick
start, the license, the package metadata."""
import ast
import glob
import os
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
