# Set-up is folded into the targets: the first `make test` or `make demo` creates .venv and
# installs the project; later runs only re-install when pyproject.toml changes.
# The [dask] extra is for `grade batch --scheduler` and its tests, [test] for the test suite; the
# grader itself needs neither.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
DEMO_CLASS := reports/demo-class
DEMO_REPORT := reports/demo

.PHONY: test demo clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dask,test]'
	touch $(STAMP)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

# Grades the example class (examples/) with its roster (hana submitted nothing): a second run finds
# every submission unchanged.
demo: $(STAMP)
	$(VENV)/bin/python examples/assemble_class.py $(DEMO_CLASS)
	$(VENV)/bin/python -m grader batch $(DEMO_CLASS) --report-dir $(DEMO_REPORT) --roster examples/roster.csv
	@echo "class overview: $(abspath $(DEMO_REPORT))/index.html"

clean:
	rm -rf $(VENV) reports/*.html reports/*.json $(DEMO_CLASS) $(DEMO_REPORT)
