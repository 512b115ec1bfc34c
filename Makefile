# The front door of the kit. Students type:
#   make check LAB=01            build, then check your lab 01 server
#   make test                    every test of the kit
# Everything builds with CMake in build/; missing Debian packages are installed first.

BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
LAB     ?=
ONLY    ?=
ARGS    ?=
LABCHECK = $(BUILD)/harness/labcheck

.PHONY: all deps configure check check-solution test sanitize list hint clean help

# Quiet when all is well; the compiler's warnings and errors when not.
define build_quietly
	@if cmake --build $(1) -j $(JOBS) >$(1)/build.log 2>&1; then \
	  grep -A4 -E 'warning:' $(1)/build.log || true; \
	else \
	  grep -A6 -E 'error:|warning:' $(1)/build.log || cat $(1)/build.log; \
	  echo "make: the build failed (whole log: $(1)/build.log)"; exit 1; \
	fi
endef

all: configure
	$(call build_quietly,$(BUILD))

help:
	@echo "make                      build everything"
	@echo "make check LAB=01         check your server of lab 01 (ONLY=echo,eof to run some checks)"
	@echo "make check-solution LAB=01  check the reference solution of lab 01"
	@echo "make hint LAB=01 CHECK=eof [LEVEL=2]  a hint, level by level"
	@echo "make test                 run every test (unit, corpus, labs)"
	@echo "make sanitize             build the harness with ASan+UBSan in build-sanitize and run its tests"

# The install script is idempotent and quick when nothing is missing.
deps:
	@bash scripts/install-deps.sh --quiet

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

define need_lab
	@if [ -z "$(LAB)" ]; then echo "make: say which lab, e.g. make $(1) LAB=01 (labs: $$(ls labs | grep '^[0-9]' | tr '\n' ' '))"; exit 2; fi
endef

check: all
	$(call need_lab,check)
	@$(LABCHECK) check $(LAB) $(if $(ONLY),--only $(ONLY)) $(ARGS)

check-solution: all
	$(call need_lab,check-solution)
	@$(LABCHECK) check $(LAB) --solution $(if $(ONLY),--only $(ONLY)) $(ARGS)

list: all
	@$(LABCHECK) list

hint: all
	$(call need_lab,hint)
	@$(LABCHECK) hint $(LAB) $(CHECK) $(if $(LEVEL),--level $(LEVEL))

test: all
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

sanitize: deps
	@test -f build-sanitize/CMakeCache.txt || cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DLABKIT_SANITIZE=ON >/dev/null
	$(call build_quietly,build-sanitize)
	@cd build-sanitize && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) build-sanitize
