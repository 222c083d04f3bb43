# gridd — the two commands:
#   make run    install what is missing, build, load the demo city on an
#               empty database, serve http://localhost:8080
#   make test   install what is missing, start a throwaway embedded PostGIS,
#               run every test against it, stop it
# Both work on a fresh Debian machine as root or with sudo.

SHELL := /bin/bash
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
BIN := bin/gridd
CONSOLE := web/console
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
GO_SOURCES := $(shell find . -name '*.go' -not -path './web/console/*' 2>/dev/null) $(shell find postgis -name '*.sql')
CONSOLE_SOURCES := $(wildcard $(CONSOLE)/src/*) $(CONSOLE)/build.mjs $(CONSOLE)/package-lock.json

.PHONY: run test build deps test-deps console bench fuzz clean

run: deps build
	./$(BIN) serve --demo --addr $${GRIDD_ADDR:-:8080}

test: test-deps build
	./$(BIN) with-db -- $(GO) test -count=1 -timeout 25m ./...
	GO=$(GO) scripts/fuzz-short

# fuzz runs every fuzz target longer: make fuzz FUZZTIME=1m
fuzz:
	GO=$(GO) FUZZTIME=$${FUZZTIME:-30s} scripts/fuzz-short

build: $(BIN)

$(BIN): $(GO_SOURCES) web/dist/app.js go.mod go.sum
	@command -v $(GO) >/dev/null || { echo "Go is not installed: install Go 1.22 or newer from your distribution or go.dev"; exit 1; }
	$(GO) build -o $(BIN) ./cmd/gridd

console: web/dist/app.js

web/dist/app.js: $(CONSOLE_SOURCES)
	cd $(CONSOLE) && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

# bench measures gridd next to its peers (ogr2ogr, mapshaper, PostGIS
# queries, …) on a throwaway embedded PostGIS; BENCH=import runs one.
bench: test-deps build bench/node_modules/.package-lock.json
	./$(BIN) with-db -- $(GO) run ./bench $(BENCH)

bench/node_modules/.package-lock.json: bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund --loglevel=error

# deps and test-deps install the Debian packages that are missing, and nothing else.
deps:
	@scripts/install-deps run

test-deps:
	@scripts/install-deps test

clean:
	rm -rf bin web/dist/*.js web/dist/*.css web/dist/*.html $(CONSOLE)/node_modules
