# streamledger — one entry point for building, running and testing.
GO          ?= go
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
BENCHTIME   ?= 1s

export DATABASE_URL

.PHONY: build run test bench lint fuzz soak clean

build: ## build bin/streamledger
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/streamledger ./cmd/streamledger

run: ## run with the zero-setup defaults (embedded store, simulator, :3000)
	$(GO) run ./cmd/streamledger serve

test: ## every test: unit, property, fuzz seeds, integration (PostgreSQL at DATABASE_URL), features
	$(GO) test -race -count=1 -timeout 15m ./...

bench: ## benchmarks; each reports events/s or requests/s
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem ./...

soak: ## the embedded default over a million simulated events with a webhook endpoint: memory at 100k vs 1M events
	$(GO) test -tags soak -run TestSoak -v -count=1 -timeout 60m ./cmd/streamledger

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## go vet, gofmt and staticcheck
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...

FUZZTIME ?= 20s
fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
