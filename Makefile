# The README's commands. Each installs what is missing, configures, builds, then acts.
JOBS ?= $(shell nproc)
DATA ?= ./runnel-data

.PHONY: build run test bench fuzz format clean setup

setup:
	@scripts/setup build

build: setup
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS)

run: build
	@echo "runnel: data directory $(DATA)"
	./build/release/runnel serve --data $(DATA)

test:
	@scripts/setup test
	@cmake --preset debug >/dev/null
	@cmake --build build/debug -j $(JOBS)
	@cd build/debug && ctest --output-on-failure -j $(JOBS) --timeout 900
	@scripts/fuzz-smoke

bench: build
	@scripts/setup bench
	@scripts/bench

fuzz:
	@scripts/setup build
	@scripts/fuzz-smoke $(FUZZ_SECONDS)

format:
	@clang-format -i $$(git ls-files '*.h' '*.cc' '*.c')

clean:
	rm -rf build
