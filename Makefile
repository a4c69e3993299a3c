# papercast developer commands. `make run` and `make test` are all a new
# machine needs (plus redis-server on PATH for the Redis tests).
GO      ?= go
BIN     := bin/papercast
PKGS    := ./...
# An execution count, not a duration: a -fuzztime duration races Go 1.26's
# fuzz coordinator, which can fail a target with a bare "context deadline
# exceeded" and no crasher on a loaded machine (go.dev/issue/75804, fixed in
# Go 1.27). A count has no deadline to race.
FUZZTIME ?= 100000x

.PHONY: run build test fuzz seed lint lint-openapi run-redis run-replicas bench soak test-e2e test-client clean

# make run archives finished papers in data/papercast.db (SQLite, created
# on first start, gitignored): the embedded store forgets everything on a
# restart, the archive keeps the final papers. PAPERCAST_ARCHIVE_DRIVER and
# PAPERCAST_ARCHIVE_DSN in the environment take precedence.
run: build ## serve on the embedded in-process store with a SQLite archive in data/
	PAPERCAST_ARCHIVE_DRIVER="$${PAPERCAST_ARCHIVE_DRIVER:-sqlite}" \
	PAPERCAST_ARCHIVE_DSN="$${PAPERCAST_ARCHIVE_DSN:-data/papercast.db}" ./$(BIN) serve

build:
	$(GO) build -o $(BIN) ./cmd/papercast

# -p 1: one package at a time. The integration tests start Redis clusters,
# replicas and thousands of sockets; two such packages at once on two cores
# measure the machine, not the code.
test: ## everything CI runs except the browser test: vet, race tests, short fuzzing
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -p 1 -timeout 30m $(PKGS)
	$(MAKE) fuzz

fuzz: ## run each fuzz target briefly
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeClient$$' -fuzztime $(FUZZTIME) ./protocol
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeClientOracle$$' -fuzztime $(FUZZTIME) ./protocol
	$(GO) test -run '^$$' -fuzz '^FuzzEncodeOracle$$' -fuzztime $(FUZZTIME) ./protocol
	$(GO) test -run '^$$' -fuzz '^FuzzValid$$' -fuzztime $(FUZZTIME) ./protocol/jsonscan
	$(GO) test -run '^$$' -fuzz '^FuzzValidateOp$$' -fuzztime $(FUZZTIME) ./paper
	$(GO) test -run '^$$' -fuzz '^FuzzValidateOracle$$' -fuzztime $(FUZZTIME) ./paper
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCreate$$' -fuzztime $(FUZZTIME) ./delivery/rest
	$(GO) test -run '^$$' -fuzz '^FuzzJSON$$' -fuzztime $(FUZZTIME) ./moderation
	$(GO) test -run '^$$' -fuzz '^FuzzString$$' -fuzztime $(FUZZTIME) ./moderation
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./delivery/guestauth
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeElements$$' -fuzztime $(FUZZTIME) ./repository/archive

seed: build ## create sample papers on a running server (URL=http://localhost:8080)
	./$(BIN) seed --url $(or $(URL),http://localhost:8080)

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

# run-redis and run-replicas archive nothing unless told where:
# PAPERCAST_ARCHIVE_DRIVER=postgres PAPERCAST_ARCHIVE_DSN=postgres://... make
# run-replicas (README: "Archive"). The variables pass through as they are.
run-redis: build ## serve on the Redis at 127.0.0.1:6379 (archive: PAPERCAST_ARCHIVE_DRIVER/DSN)
	PAPERCAST_STORE=redis PAPERCAST_ARCHIVE_DRIVER="$${PAPERCAST_ARCHIVE_DRIVER:-none}" PAPERCAST_ARCHIVE_DSN="$${PAPERCAST_ARCHIVE_DSN:-}" ./$(BIN) serve

# The replicas share one guest secret, generated per run (unless
# PAPERCAST_AUTH_GUEST_SECRET is set), so a guest token from one replica is
# valid on the others; ?user= is not trusted, as in production.
run-replicas: build ## three replicas on :8081-8083 sharing 127.0.0.1:6379 (archive: PAPERCAST_ARCHIVE_DRIVER/DSN); Ctrl-C stops all
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	secret="$${PAPERCAST_AUTH_GUEST_SECRET:-$$(head -c 32 /dev/urandom | base64)}"; \
	for p in 8081 8082 8083; do \
		PAPERCAST_AUTH_GUEST_SECRET="$$secret" PAPERCAST_STORE=redis PAPERCAST_SERVER_ADDR=127.0.0.1:$$p PAPERCAST_SERVER_DEV=true ./$(BIN) serve & \
	done; \
	echo "replicas on http://127.0.0.1:8081 http://127.0.0.1:8082 http://127.0.0.1:8083 (Ctrl-C stops all)"; \
	wait

bench: build ## Go benchmarks of the hot path, the load scenarios and their chart (see docs/benchmarks.md)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./protocol ./usecase ./repository/... | tee bin/bench.txt
	scripts/bench.sh

soak: build ## long steady load to catch slow leaks (SOAK=10m)
	./$(BIN) loadtest --spawn 2 --sessions 2000 --papers 200 --rate 1 --duration $(or $(SOAK),10m) --out bin/soak.json

test-e2e: build ## the board's geometry under node --test, then the browser specs in headless Chromium (Playwright)
	cd web/e2e && npm ci --no-audit --no-fund && node --test layout.test.mjs && node e2e.mjs

# Redocly's recommended rules, version pinned in docs/lint/package-lock.json;
# exceptions and their reasons are in docs/lint/redocly.yaml.
lint-openapi: ## lint docs/openapi.yaml (npm @redocly/cli)
	cd docs/lint && npm ci --no-audit --no-fund && npx --no-install redocly lint

test-client: build ## papercast-client (web/client) under node --test, against two replicas on Redis
	cd web/client && npm ci --no-audit --no-fund && npm test

clean:
	rm -rf bin
