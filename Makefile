# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint migrate bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the project's dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ordo db upgrade
	$(BIN)/ordo demo --if-empty
	$(BIN)/ordo serve

test: $(STAMP)
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench migrations

# Benchmarks print one JSON line each (see docs/benchmarks.md); BENCH_DB=postgresql://… for PostgreSQL.
bench: $(STAMP)
	$(BIN)/python bench/intake.py raw --orders 2000 --procs 2 $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/intake.py oversell --stock 5 --attempts 40 --procs 8 $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/intake.py status --orders 500 --procs 1 $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/routes.py
	$(BIN)/python bench/allocation.py plan --orders 20000
	$(BIN)/python bench/allocation.py run --orders 600 $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/review.py run --existing 10000 --orders 500 $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/sla_scan.py $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/http_load.py --rate 50 --seconds 10 --workers 2 $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/http_load.py --clients 1 --seconds 15 --workers 2 --minimal $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/http_load.py --rate 200 --seconds 20 --workers 2 --minimal --no-changes $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/http_calls.py $(if $(BENCH_DB),--database-url $(BENCH_DB))
	$(BIN)/python bench/soak.py run --minutes 1 --clients 16 $(if $(BENCH_DB),--database-url $(BENCH_DB))

# Soak and crashes (docs/benchmarks.md, "Soak and crashes"): 10 minutes of mixed traffic from 16
# clients, then a run that kills the server and the worker with SIGKILL now and then; each prints one
# JSON line and fails on any error or checker violation. Both always run; the target fails if either did.
# The logs and the run's files stay in var/soak/load and var/soak/chaos.
SOAK_DB ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
soak: $(STAMP)
	$(BIN)/python bench/soak.py run --minutes 10 --clients 16 --database-url $(SOAK_DB) --keep var/soak/load \
	  $(SOAK_ARGS); a=$$?; \
	$(BIN)/python bench/soak.py run --minutes 4 --clients 16 --chaos --kill-every 45 --database-url $(SOAK_DB) \
	  --keep var/soak/chaos $(SOAK_ARGS); b=$$?; exit $$((a || b))

migrate: $(STAMP)
	$(BIN)/ordo db upgrade

clean:
	rm -rf $(VENV) var
