# Heihe court intake assistant. `make help` lists the targets.
SHELL := /bin/bash
export RASA_TELEMETRY_ENABLED := false
PY := .venv/bin/python

.PHONY: help setup db model run lint test test-dates eval bench bench-latency bench-profile bench-scale bench-telegram bench-webchat bench-report bench-desk soak clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## create .venv (Python 3.10) and install the pinned requirements
	@bin/setup

db: setup ## migrate and seed the database (DATABASE_URL, default var/court.db)
	@$(PY) -m court.admin.cli migrate
	@$(PY) -m court.admin.cli seed

model: setup ## train the Rasa model if its inputs changed (cached in models/)
	@$(PY) stack/train.py

run: db ## set everything up and start the assistant (embedded SQLite by default)
	@bin/run

lint: setup ## ruff (unused and undefined names, import order, stray whitespace), then mypy on court/ bot/ desk/ actions/ (pyproject.toml); the layering is tests/test_architecture.py, run with the tests
	@.venv/bin/ruff check .
	@.venv/bin/mypy

test: setup ## run every test against SQLite and a throwaway PostgreSQL
	@bin/test

test-dates: setup ## the whole suite again with the wall clock moved (faketime) to 2027-02-05, 2027-06-30, 2027-12-31 23:59, 2028-02-29
	@bin/test-dates -q

eval: setup ## per-intent precision/recall/F1 on the test split, Rasa beside a TF-IDF baseline
	@$(PY) -m bench.nlu_eval

bench-latency: setup ## residents' messages through Rasa + action server: open loop 5-40 msg/s and closed loop, SQLite then PostgreSQL, beside bench/baselines/
	@$(PY) -m bench.latency_bench --baseline bench/baselines/latency-sqlite.json
	@$(PY) -m bench.latency_bench --baseline bench/baselines/latency-postgresql.json --postgres "$$(bin/pg-test-server start)"

bench-profile: setup ## where the Rasa and action servers' CPU goes under the closed-loop load (py-spy, installed on first use; SQLite)
	@$(PY) -m pip show py-spy >/dev/null 2>&1 || $(PY) -m pip install -q py-spy
	@$(PY) -m bench.profile_stack --out var/profile

bench-scale: setup ## the same load on PostgreSQL through HAProxy: 1 Rasa server, then 2 with Redis's lock store (stack/topology.py)
	@bin/scale-deps
	@$(PY) -m bench.latency_bench --replicas 1 --rates 10,20,40 --save var/bench-scale-1.json --postgres "$$(bin/pg-test-server start)"
	@$(PY) -m bench.latency_bench --replicas 2 --rates 10,20,40 --baseline var/bench-scale-1.json --postgres "$$(bin/pg-test-server start)"

bench-telegram: setup ## message round trip through the Telegram front end, and outbox delivery throughput
	@$(PY) -m bench.telegram_bench --postgres "$$(bin/pg-test-server start)"

bench-webchat: setup ## the web chat: page weight, first render, message round trip beside REST, pushes to open pages
	@$(PY) -m bench.webchat_bench --postgres "$$(bin/pg-test-server start)"

bench: setup ## booking throughput and nearest-point lookup, PostgreSQL beside SQLite
	@$(PY) -m bench.booking_bench --postgres "$$(bin/pg-test-server start)"

bench-report: setup ## statistics on 100,000 synthetic cases: SQL report beside counting rows in Python (PostgreSQL)
	@$(PY) -m bench.report_bench --postgres "$$(bin/pg-test-server start)"

bench-desk: setup ## the 12368 desk under a busy queue: queue, handoff page, desk bookings, a take race
	@$(PY) -m bench.desk_bench --postgres "$$(bin/pg-test-server start)"

soak: setup ## 30 minutes of Telegram residents booking while a random part of the stack is killed every 150 s (not in CI)
	@$(PY) -m bench.soak --minutes 30 --postgres "$$(bin/pg-test-server start)"

clean: ## stop the test PostgreSQL and delete var/ and .venv/
	@bin/pg-test-server stop
	rm -rf var .venv
