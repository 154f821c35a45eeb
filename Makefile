# The README's two commands: `make demo` and `make test`.
GO ?= go
FIXTURES ?= $(CURDIR)/testdata/cache

.PHONY: demo test deps fixtures build vet fuzz bench

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/seshat ./cmd/seshat

demo: build
	./bin/seshat analyze oci:testdata/sample/oci --format table

# deps installs what the tests need on a Debian machine (idempotent, needs root).
deps:
	bash testdata/deps.sh

# fixtures builds the test inputs from real material into testdata/cache (gitignored).
fixtures: deps
	bash testdata/fixtures.sh "$(FIXTURES)"

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

test: fixtures vet
	SESHAT_FIXTURES="$(FIXTURES)" $(GO) test -count=1 -timeout 40m ./...
	cd tekton/validate && $(GO) test -count=1 ./...
	cd buildkit/frontend && $(GO) vet ./... && SESHAT_FIXTURES="$(FIXTURES)" $(GO) test -count=1 -timeout 30m ./...

bench: build fixtures
	bash bench/run.sh
