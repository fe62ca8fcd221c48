# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres test-browser lint format install worker clean audit-deps

$(STAMP): pyproject.toml requirements.lock
	@echo "== Installation des dépendances dans .venv (quelques minutes la première fois)…"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Set up everything and serve the demo on http://127.0.0.1:$${PORT:-8000}
run: $(STAMP)
	@echo "== Base de données (migrations)…"
	$(BIN)/espace-sante migrate --no-input
	@echo "== Logiciels professionnels de démonstration (FHIR) : var/fhir-demo-clients.txt"
	$(BIN)/espace-sante fhir_demo_clients > var/fhir-demo-clients.txt
	@echo "== Données de démonstration…"
	$(BIN)/espace-sante demo
	$(BIN)/espace-sante audit seal
	@echo "Un worker de tâches et le planificateur des tâches périodiques démarrent à côté du serveur web (Ctrl+C arrête les trois)."
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/espace-sante worker & \
	$(BIN)/espace-sante scheduler & \
	$(BIN)/espace-sante serve

## The whole suite: SQLite always, PostgreSQL too when DATABASE_URL points at one.
test: $(STAMP)
	bash scripts/test-all.sh

## Audit requirements.lock against the local OSV copy (see README)
audit-deps: $(STAMP)
	$(BIN)/python scripts/audit_deps.py check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache
