# The few verbs people type.
.PHONY: run test bench lint

run:  ## install everything and start the app on its embedded defaults
	./scripts/run.sh

test:  ## install what tests need and run the whole suite (ruff included)
	./scripts/test.sh

bench:  ## print the benchmark figures (medians, p95) from a throw-away environment; BENCH_ARGS=--quick
	./scripts/bench.sh $(BENCH_ARGS)

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
