# callbox — the two commands are `make run` and `make test`; each installs what it lacks.

GO         ?= go
BIN        := bin/callbox
VERSION    := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -X callbox.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Debian packages: what the demo needs to run, and what the tests drive as real peers.
DEBS_RUN   := espeak-ng
DEBS_TEST  := $(DEBS_RUN) sip-tester baresip chromium chromium-driver

.PHONY: all build run test bench lint deps-run deps-test clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/callbox

## run: start the daemon on the built-in demo configuration (data in ./callbox-data)
run: deps-run build
	./$(BIN) serve

## test: every test, with the race detector, plus the lint checks
test: deps-test lint
	$(GO) test -race -count=1 -timeout 14m ./...

## bench: hot-path benchmarks, then the daemon under SIPp load (concurrent calls, calls per second,
## callers sitting in an IVR menu: CPU and memory per call)
bench: deps-test build
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...
	$(GO) run ./internal/loadtest -bin $(BIN)

## lint: gofmt, go vet, staticcheck
lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

deps-run:
	@$(call apt_install,$(DEBS_RUN))

deps-test:
	@$(call apt_install,$(DEBS_TEST))

clean:
	rm -rf bin

# apt_install installs the Debian packages of the list that are missing, with sudo when not root.
define apt_install
missing=""; for p in $(1); do \
	dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
	echo "installing Debian packages:$$missing"; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
fi
endef
