# mapiproxy — the two commands a newcomer needs: `make demo` and `make check`.
# Everything else is a building block of those two.

PY      := /usr/bin/python3
BUILD   := build
ASAN    := build-asan
FUZZ    := build-fuzz
FUZZ_SECONDS ?= 15

.PHONY: all deps build asan fuzz demo check unit system bench clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN)/build.ninja:
	CC=clang meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug

asan: $(ASAN)/build.ninja
	ninja -C $(ASAN)

$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug

fuzz: $(FUZZ)/build.ninja
	ninja -C $(FUZZ)

# The main job on the embedded default: Samba AD DC upstream, mapiproxy, impacket.
demo: deps build
	$(PY) scripts/demo.py

# Unit + system tests, then the same under ASan/UBSan, then bounded fuzzing.
# Last line: "N passed, N failed".
check: deps build asan fuzz
	$(PY) scripts/check.py --build $(BUILD) --asan $(ASAN) --fuzz $(FUZZ) --fuzz-seconds $(FUZZ_SECONDS)

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

system: build
	$(PY) -m pytest -q tests/system

bench: deps build
	$(PY) bench/run.py

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
