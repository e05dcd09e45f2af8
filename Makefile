# Tessera's front door. Every target first installs missing Debian packages (scripts/install-deps.sh).
#   make run         build (Release) and run the main job (see README.md)
#   make test        build and run every test (unit, integration, fuzz-corpus replay)
#   make test-asan   the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-tsan   the same suite built with ThreadSanitizer
#   make fuzz        build libFuzzer targets with clang and run each for FUZZ_SECONDS
#   make bench       build and run every benchmark under bench/
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 20
CMAKE_FLAGS ?=
CTEST_FLAGS ?=

.PHONY: all deps build run test test-asan test-tsan fuzz bench clean

all: build

deps:
	@bash scripts/install-deps.sh

define configure_and_build
	cmake -S . -B $(1) -DCMAKE_BUILD_TYPE=$(2) $(CMAKE_FLAGS) $(3) >/dev/null
	cmake --build $(1) -j $(JOBS)
endef

build: deps
	$(call configure_and_build,build,Release,)

run: build
	@bash scripts/run-main.sh build

test: build
	cd build && ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

test-asan: deps
	$(call configure_and_build,build-asan,Debug,-DTS_SANITIZE=address)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		TS_SANITIZED=1 ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

test-tsan: deps
	$(call configure_and_build,build-tsan,Debug,-DTS_SANITIZE=thread)
	cd build-tsan && TS_SANITIZED=1 ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) -DCMAKE_C_COMPILER=clang \
		-DTS_FUZZ=ON -DTS_SANITIZE=address -DTS_WERROR=OFF >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target fuzz_all
	@bash scripts/run-fuzzers.sh build-fuzz $(FUZZ_SECONDS)

bench: build
	@bash scripts/run-benches.sh build

clean:
	rm -rf build build-asan build-tsan build-fuzz
