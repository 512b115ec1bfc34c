# The front door of the kit. Students type:
#   make check LAB=01            build, then check your lab 01 server
#   make progress                where you stand, lab by lab
#   make watch LAB=01            rebuild and recheck lab 01 on every save
#   make observe LAB=04          watch your lab 04 server live (q to stop)
#   make bench LAB=05            measure your lab 05 server under load
#   make test                    every test of the kit
# Everything builds with CMake in build/; missing Debian packages are installed first.

BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
# Tests wait on sockets and timeouts far more than they compute (a broken server is
# caught by a reply that never comes): two tests per core keep the cores busy. The
# verdicts hold at three per core with every core loaded besides
# (harness/bench/corpus_under_load.sh), because each test's server runs as a user of its
# own (tests/verdict_support.hpp); two leaves a margin for a slower machine.
TEST_JOBS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) * 2 )))
LAB     ?=
ONLY    ?=
ARGS    ?=
LABCHECK = $(BUILD)/harness/labcheck

# The lab folder LAB names: 1, 01, 01-iterative-echo -> 01-iterative-echo (empty when
# none: labcheck then says which labs there are).
LAB_FOLDER = $(notdir $(firstword $(wildcard labs/$(LAB) labs/$(LAB)-* labs/0$(LAB)-*)))
# The CMake target of that lab's server (labkit_add_servers_in in CMakeLists.txt), or of
# its reference solution; empty when it has no server.cpp, so there is nothing to build.
LAB_TARGET = $(if $(LAB_FOLDER),$(if $(wildcard labs/$(LAB_FOLDER)/server.cpp),lab-$(LAB_FOLDER)))
SOLUTION_TARGET = $(if $(LAB_FOLDER),$(if $(wildcard solutions/$(LAB_FOLDER)/server.cpp),solution-$(LAB_FOLDER)))

.PHONY: all deps configure harness check check-solution progress watch observe bench test sanitize list hint \
        diagrams traces gradescope clean help

# Quiet when all is well; the compiler's warnings and errors when not.
# $(1): the build folder; $(2): the targets to build (default: all of them).
define build_quietly
	@if cmake --build $(1) -j $(JOBS) $(if $(2),--target $(2)) >$(1)/build.log 2>&1; then \
	  grep -A4 -E 'warning:' $(1)/build.log || true; \
	else \
	  grep -A6 -E 'error:|warning:' $(1)/build.log || cat $(1)/build.log; \
	  echo "make: the build failed (whole log: $(1)/build.log)"; exit 1; \
	fi
endef

all: configure
	$(call build_quietly,$(BUILD))

# labcheck alone. Building it first also re-runs CMake's glob when a lab's server.cpp
# has appeared since the last configure, so the lab's target exists for the next build.
harness: configure
	$(call build_quietly,$(BUILD),labcheck)

help:
	@echo "make                      build everything"
	@echo "make check LAB=01         build and check your server of lab 01 (ONLY=echo,eof to run some checks)"
	@echo "make check-solution LAB=01  check the reference solution of lab 01"
	@echo "make progress             where you stand: every lab built and checked, one line each"
	@echo "make watch LAB=01         rebuild and recheck lab 01 each time you save its server.cpp (ONLY=...)"
	@echo "make hint LAB=01 CHECK=eof [LEVEL=2]  a hint, level by level"
	@echo "make observe LAB=04       your lab 04 server live: its processes, sockets and TCP states (q to stop)"
	@echo "make bench LAB=05 [ARGS=\"--mode stream\"]  your lab 05 server under load: connections/s, latency, MB/s"
	@echo "make test                 run every test (unit, corpus, labs, diagrams)"
	@echo "make diagrams             render diagrams/*.dot and *.msc to the SVGs beside them"
	@echo "make traces               draw the example traces in diagrams/traces (labcheck --trace)"
	@echo "make gradescope LAB=03    the zip to upload to Gradescope as lab 03's autograder"
	@echo "make compare              lab 10: every server design measured here; a table and a plot in build/compare"
	@echo "make sanitize             build the harness with ASan+UBSan in build-sanitize and run its tests"

# The install script is idempotent and quick when nothing is missing.
deps:
	@bash scripts/install-deps.sh --quiet

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

define need_lab
	@if [ -z "$(LAB)" ]; then echo "make: say which lab, e.g. make $(1) LAB=01 (labs: $$(ls labs | grep '^[0-9]' | tr '\n' ' '))"; exit 2; fi
endef

# Only labcheck and the one lab: a lab that does not compile yet cannot block another's check.
check: harness
	$(call need_lab,check)
	$(if $(LAB_TARGET),$(call build_quietly,$(BUILD),$(LAB_TARGET)))
	@$(LABCHECK) check $(LAB) $(if $(ONLY),--only $(ONLY)) $(ARGS)

check-solution: harness
	$(call need_lab,check-solution)
	$(if $(SOLUTION_TARGET),$(call build_quietly,$(BUILD),$(SOLUTION_TARGET)))
	@$(LABCHECK) check $(LAB) --solution $(if $(ONLY),--only $(ONLY)) $(ARGS)

# Each lab is built on its own and a failure is only noted, so one lab that does not
# compile cannot hide the others; labcheck progress then calls it "not built".
progress: harness
	@for source in labs/[0-9][0-9]-*/server.cpp; do \
	  [ -f "$$source" ] || continue; \
	  lab=$$(basename $$(dirname $$source)); \
	  cmake --build $(BUILD) -j $(JOBS) --target lab-$$lab >$(BUILD)/build-lab-$$lab.log 2>&1 || \
	    echo "make: $$lab does not compile (make check LAB=$${lab%%-*} shows why)"; \
	done
	@$(LABCHECK) progress $(ARGS)

# labcheck builds the lab itself on every save, and shows the compiler's errors.
watch: harness
	$(call need_lab,watch)
	@$(LABCHECK) watch $(LAB) $(if $(ONLY),--only $(ONLY)) $(ARGS)

# Your lab's server, live (q or Ctrl-C to stop): labcheck observe.
observe: harness
	$(call need_lab,observe)
	$(if $(LAB_TARGET),$(call build_quietly,$(BUILD),$(LAB_TARGET)))
	@$(LABCHECK) observe $(LAB) $(ARGS)

# Your lab's server under load: labcheck bench (ARGS="--mode stream", "--ceiling", ...).
# The kit's fastest server is built too, for --ceiling to compare against.
FASTEST_TARGET = $(patsubst solutions/%/server.cpp,solution-%,$(wildcard solutions/10-*/server.cpp))
bench: harness
	$(call need_lab,bench)
	$(call build_quietly,$(BUILD),$(LAB_TARGET) $(FASTEST_TARGET))
	@$(LABCHECK) bench $(LAB) $(ARGS)

list: harness
	@$(LABCHECK) list

hint: harness
	$(call need_lab,hint)
	@$(LABCHECK) hint $(LAB) $(CHECK) $(if $(LEVEL),--level $(LEVEL))

test: all
	@cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS)

sanitize: deps
	@test -f build-sanitize/CMakeCache.txt || cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DLABKIT_SANITIZE=ON >/dev/null
	$(call build_quietly,build-sanitize)
	@cd build-sanitize && ctest --output-on-failure -j $(JOBS)

# The concept diagrams, in the look diagrams/look.toml defines. Commit the SVGs:
# a test fails when one is older than its source.
diagrams: deps
	@bash diagrams/render.sh

# The example traces the README shows, drawn by labcheck from the kit's own servers: a
# correct lab-04 solution and three broken servers of the corpus. (labcheck exits 1 on the
# broken ones, as it should: only a missing picture stops make.)
TRACES = diagrams/traces
traces: all
	@mkdir -p $(TRACES)
	@$(LABCHECK) check 04 --solution --only zombie-burst --trace $(TRACES)/solution-04-zombie-burst.svg >/dev/null
	@$(LABCHECK) check 04 --server $(BUILD)/harness/corpus/no-reaping --only zombie-burst \
	  --trace $(TRACES)/no-reaping-zombie-burst.svg >/dev/null || test -s $(TRACES)/no-reaping-zombie-burst.svg
	@$(LABCHECK) check 04 --server $(BUILD)/harness/corpus/wait-once --only zombie-burst \
	  --trace $(TRACES)/wait-once-zombie-burst.svg >/dev/null || test -s $(TRACES)/wait-once-zombie-burst.svg
	@$(LABCHECK) check 04 --server $(BUILD)/harness/corpus/wait-once --only echo,zombie-burst \
	  --trace $(TRACES)/wait-once-tree.dot >/dev/null || test -s $(TRACES)/wait-once-tree.dot
	@bash diagrams/render.sh $(TRACES)/wait-once-tree.dot $(TRACES)/wait-once-tree.svg
	@$(LABCHECK) check 03 --server $(BUILD)/harness/corpus/parent-keeps-fd --only eof \
	  --trace $(TRACES)/parent-keeps-fd-eof.svg >/dev/null || test -s $(TRACES)/parent-keeps-fd-eof.svg

# The zip an instructor uploads to Gradescope for one lab (harness/gradescope/README.md).
gradescope:
	$(call need_lab,gradescope)
	@bash harness/gradescope/make_zip.sh $(LAB) $(BUILD)/gradescope-lab$(LAB).zip

# Lab 10: every server design of the kit measured on this machine, side by side
# (harness/bench/compare.sh; its header lists the COMPARE_* settings). The solutions it
# runs are built first; your lab 10 server is measured too when it compiles.
.PHONY: compare
COMPARE_OUT ?= $(BUILD)/compare
COMPARE_SOLUTIONS = $(foreach lab,01 05 07 08 09 10,$(patsubst solutions/%/server.cpp,solution-%,$(wildcard solutions/$(lab)-*/server.cpp)))
compare: harness
	$(if $(shell command -v gnuplot),,$(error compare draws its plot with gnuplot, which is missing: run scripts/install-deps.sh))
	$(call build_quietly,$(BUILD),$(COMPARE_SOLUTIONS) corpus-one-byte-at-a-time)
	@cmake --build $(BUILD) --target $(patsubst labs/%/server.cpp,lab-%,$(wildcard labs/10-*/server.cpp)) \
	  >$(BUILD)/build-compare-yours.log 2>&1 || \
	  echo "make: your lab 10 server does not compile (make check LAB=10 shows why): it is left out"
	@COMPARE_OUT=$(COMPARE_OUT) bash harness/bench/compare.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-sanitize
