# Two commands on a fresh machine:
#   make demo   — set up .venv, render scenario videos, search them with the bundled model (offline)
#   make test   — set up .venv and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench browser mona clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt torch torchvision
	$(BIN)/pip install --quiet -c constraints.txt -e '.[all,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/framelogic demo --out framelogic-demo

test: $(STAMP) browser mona
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/python -m pytest -q

# The report test renders pages in Debian's headless Chromium.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	  || echo "warning: could not install chromium; the report screenshot test will fail"

# ltlf2dfa (a compile baseline in benchmarks/run_suite) needs Debian's MONA.
mona:
	@command -v mona >/dev/null || { apt-get update -qq && apt-get install -y -qq mona >/dev/null; } \
	  || echo "warning: could not install mona; the suite's ltlf2dfa column will be skipped"

bench: $(STAMP) mona
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
