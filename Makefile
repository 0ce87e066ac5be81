# The few verbs people type.
.PHONY: run test bench lint

run:  ## install everything and start the app on its embedded defaults
	./scripts/run.sh

test:  ## install what tests need and run the whole suite (ruff included)
	./scripts/test.sh

bench:  ## print the benchmark figures (medians, p95)
	.venv/bin/python manage.py bench

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
