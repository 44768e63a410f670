# chainrule — plain Makefile. See README.md.
#   make               float library (build/float/)
#   make REAL=double   double library side by side (build/double/)
#   make test          both precisions, every test and the machine matrix
#                      (tests/matrix.sh; installs cmocka if it can); last line
#                      "N passed, M failed"
#   make run           the main job on an embedded default
#   make SAN=1 ...     ASan+UBSan build (build/<real>-san/)
#   make CC=clang OPT=-O3 WERROR=1 BUILD_TAG=clang-O3   another compiler / flags,
#                      warnings as errors, in build/<real>-clang-O3/
#   make SAN=thread    ThreadSanitizer build (build/<real>-tsan/), e.g.
#                      make check SAN=thread MATRIX=0 TESTS="test_threads test_pool"
#   make BLAS=openblas route GEMM to OpenBLAS (off by default)
#   make install       libraries, header, .pc files, chainrule-train under PREFIX (README
#                      "Install"); make uninstall removes them

REAL   ?= float
SAN    ?= 0
BLAS   ?=
PREFIX ?= /usr/local
DESTDIR ?=
CC     ?= cc

ifeq ($(filter $(REAL),float double),)
$(error REAL must be float or double, not '$(REAL)')
endif

CR_VERSION := $(shell sed -n 's/^\#define CR_VERSION "\(.*\)"/\1/p' include/chainrule.h)
CR_MAJOR   := $(shell sed -n 's/^\#define CR_VERSION_MAJOR \([0-9]*\)$$/\1/p' include/chainrule.h)
# build/<real>[-san|-tsan][-<blas>]: the build directory of a configuration.
# BUILD_TAG=x adds -x, for builds with another CC or OPT side by side (.ci/run).
bdir = build/$(1)$(if $(filter 1,$(SAN)),-san)$(if $(filter thread,$(SAN)),-tsan)$(if $(BLAS),-$(BLAS))$(if $(BUILD_TAG),-$(BUILD_TAG))
B := $(call bdir,$(REAL))

CPPFLAGS += -Iinclude -D_POSIX_C_SOURCE=200809L
# OPT: optimisation and debug flags (make OPT="-O0 -g"); WERROR=1 turns warnings
# into errors (CI).
OPT      ?= -O2 -g
CFLAGS   ?= $(OPT)
CFLAGS   += -std=c11 -Wall -Wextra -pedantic -fPIC -MMD -MP -pthread
ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif
# Let GCC's -O2 vectoriser use its normal cost model (its default "very cheap" one
# leaves most elementwise and optimizer loops scalar), and let sqrt vectorise by not
# setting errno. Neither changes a result: this is not -ffast-math.
VEC_FLAGS := $(shell $(CC) -fvect-cost-model=dynamic -x c -c /dev/null -o /dev/null 2>/dev/null && echo -fvect-cost-model=dynamic)
CFLAGS   += -fno-math-errno $(VEC_FLAGS)
LDLIBS   += -lm -lpthread
ifeq ($(REAL),double)
CPPFLAGS += -DCR_REAL_DOUBLE
endif
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SAN),thread)
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif
ifeq ($(BLAS),openblas)
CPPFLAGS += -DCR_USE_OPENBLAS
LDLIBS   += -lopenblas
endif

# zlib is optional: the IDX reader opens .gz files when it is present at build time.
HAVE_ZLIB := $(shell echo 'int main(void){return zlibVersion() == 0;}' | $(CC) -include zlib.h -x c - -o /dev/null -lz 2>/dev/null && echo 1)
ifeq ($(HAVE_ZLIB),1)
CPPFLAGS += -DCR_HAVE_ZLIB
LDLIBS   += -lz
endif

LIB_DIRS := kernel graph ops nn optim data export
LIB_SRC  := $(sort $(wildcard $(addsuffix /*.c,$(LIB_DIRS))))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB_A    := $(B)/libchainrule.a
# The shared library: real file lib<name>.so.<CR_VERSION>, SONAME lib<name>.so.<major>
# (the ABI rule is beside CR_VERSION_MAJOR in include/chainrule.h), the symlinks
# lib<name>.so.<major> and lib<name>.so beside it; <name> is chainrule or, for the
# double build, chainrule_double, as installed. Only the header's API is exported.
INST_NAME := chainrule$(if $(filter double,$(REAL)),_double)
SONAME   := lib$(INST_NAME).so.$(CR_MAJOR)
LIB_SO_REAL := $(B)/lib$(INST_NAME).so.$(CR_VERSION)
LIB_SO   := $(B)/lib$(INST_NAME).so

TEST_SRC := $(sort $(wildcard tests/test_*.c))
# TESTS="test_gemm test_pool" limits `make check` to those programs.
TESTS    ?= $(TEST_SRC:tests/%.c=%)
TEST_BIN := $(TESTS:%=$(B)/tests/%)
MATRIX   ?= 1
# BROWSER=0: `make check` skips the browser test of cr_tape_html's pages
# (tests/browser/run.sh: chromium + node + puppeteer-core; skipped when missing).
BROWSER  ?= 1
TEST_HELP := $(B)/obj/tests/helpers.o

EX_SRC := $(sort $(wildcard examples/*.c examples/lessons/*.c))
EX_BIN := $(EX_SRC:examples/%.c=$(B)/examples/%)

# The MPI training program (below, after `examples`).
MPICC    ?= mpicc
HAVE_MPI := $(shell command -v $(MPICC) >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 && echo 1)
MPI      ?= $(if $(HAVE_MPI),auto,0)
TRAIN_MPI := $(if $(filter-out 0,$(MPI)),$(B)/examples/train-mpi $(B)/examples/train-text-mpi \
    $(B)/tools/mpi_allreduce_time)

.PHONY: all lib test check examples run clean install deps bench fuzz graphs fashion fashion-adam \
        fashion-cnn
.PHONY: fuzz-corpus bench-run graphs-deps build-all
all: lib examples $(if $(filter 1,$(MPI)),$(TRAIN_MPI))

lib: $(LIB_A) $(LIB_SO) $(B)/$(SONAME)

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIB_OBJ): CFLAGS += -fvisibility=hidden

$(LIB_SO_REAL): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB_SO) $(B)/$(SONAME): $(LIB_SO_REAL)
	ln -sf $(<F) $@

# SIMD kernels: only these files get ISA flags; the CPU is checked at run time.
$(B)/obj/%_avx512.o: CFLAGS += -mavx512f -mavx512dq -mavx512vl -mavx512bw -mfma -mavx2
$(B)/obj/%_avx2.o:   CFLAGS += -mavx2 -mfma
# The float build's sigmoid and tanh loops (ops/sigmoid.c) vectorise only when GCC
# may if-convert their clamps: assume no floating-point trap handler (no result
# changes; clang's default).
$(B)/obj/ops/sigmoid.o: CFLAGS += -fno-trapping-math
# The same kernels compiled for AVX2 and AVX-512 (ops/act_float.h): the same bits as
# the generic ones only without FMA contraction (clang contracts by default); the
# AVX-512 file asks for 512-bit vectors (GCC may prefer 256).
$(B)/obj/ops/sigmoid.o $(B)/obj/ops/act_avx2.o $(B)/obj/ops/act_avx512.o: \
    CFLAGS += -fno-trapping-math -ffp-contract=off
$(B)/obj/ops/act_avx512.o: CFLAGS += -mprefer-vector-width=512

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/%.c $(TEST_HELP) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests -DCR_BUILD_DIR='"$(B)"' -o $@ $< $(TEST_HELP) $(LIB_A) $(LDFLAGS) -lcmocka $(LDLIBS)

$(B)/obj/tests/helpers.o: tests/helpers.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests -c -o $@ $<

$(B)/examples/%: examples/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS)

# The training program: examples/train.c plus its parts in examples/train/.
TRAIN_PARTS := $(sort $(wildcard examples/train/*.c))
$(B)/examples/train: examples/train.c $(TRAIN_PARTS) $(wildcard examples/train/*.h) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(filter-out -MMD -MP,$(CFLAGS)) -Iexamples/train -o $@ examples/train.c \
	    $(TRAIN_PARTS) $(LIB_A) $(LDFLAGS) $(LDLIBS)

# The character language model trainer (issue 15): examples/train_text.c, its parts
# in examples/train_text/, and the shared parts of train (progress, log, checkpoint
# option checks) from examples/train/.
TEXT_PARTS := $(sort $(wildcard examples/train_text/*.c))
$(B)/examples/train_text: examples/train_text.c $(TEXT_PARTS) $(TRAIN_PARTS) \
        $(wildcard examples/train_text/*.h examples/train/*.h) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(filter-out -MMD -MP,$(CFLAGS)) -Iexamples/train -Iexamples/train_text \
	    -o $@ examples/train_text.c $(TEXT_PARTS) $(TRAIN_PARTS) $(LIB_A) $(LDFLAGS) $(LDLIBS)

examples: $(EX_BIN)

# Data-parallel training over MPI (README "Training on several machines"): the
# training program built with mpicc and -DCR_MPI as $(B)/examples/train-mpi, run
# with mpirun -np N. The default build never needs MPI. `make MPI=1` builds it (and
# fails when mpicc is missing: apt-get install libopenmpi-dev openmpi-bin); `make
# test` builds and tests it whenever mpicc and mpirun are found (MPI=0: never).
# OMPI_CC/MPICH_CC make mpicc compile with $(CC). (Variables: above `all`.)
$(B)/examples/train-mpi: examples/train.c $(TRAIN_PARTS) $(wildcard examples/train/*.h) $(LIB_A)
	@mkdir -p $(@D)
	@command -v $(MPICC) >/dev/null 2>&1 || { echo "MPI=1 needs $(MPICC): apt-get install" \
	    "libopenmpi-dev openmpi-bin (or MPICC=...)"; exit 1; }
	OMPI_CC='$(CC)' MPICH_CC='$(CC)' $(MPICC) $(CPPFLAGS) -DCR_MPI \
	    $(filter-out -MMD -MP,$(CFLAGS)) -Iexamples/train -o $@ examples/train.c $(TRAIN_PARTS) \
	    $(LIB_A) $(LDFLAGS) $(LDLIBS)
# The character language model's trainer, data-parallel over the streams.
$(B)/examples/train-text-mpi: examples/train_text.c $(TEXT_PARTS) $(TRAIN_PARTS) \
        $(wildcard examples/train_text/*.h examples/train/*.h) $(LIB_A)
	@mkdir -p $(@D)
	@command -v $(MPICC) >/dev/null 2>&1 || { echo "MPI=1 needs $(MPICC): apt-get install" \
	    "libopenmpi-dev openmpi-bin (or MPICC=...)"; exit 1; }
	OMPI_CC='$(CC)' MPICH_CC='$(CC)' $(MPICC) $(CPPFLAGS) -DCR_MPI \
	    $(filter-out -MMD -MP,$(CFLAGS)) -Iexamples/train -Iexamples/train_text -o $@ \
	    examples/train_text.c $(TEXT_PARTS) $(TRAIN_PARTS) $(LIB_A) $(LDFLAGS) $(LDLIBS)
# The trainer's all-reduce timed alone (bench/mpi_scaling.sh, tools/scaling_model.py).
$(B)/tools/mpi_allreduce_time: tools/mpi_allreduce_time.c examples/train/allreduce.c \
    examples/train/allreduce.h $(LIB_A)
	@mkdir -p $(@D)
	OMPI_CC='$(CC)' MPICH_CC='$(CC)' $(MPICC) $(CPPFLAGS) -DCR_MPI \
	    $(filter-out -MMD -MP,$(CFLAGS)) -Iexamples/train -o $@ $< examples/train/allreduce.c \
	    $(LIB_A) $(LDFLAGS) $(LDLIBS)

# Everything compiled, nothing run (CI's builds with other flags).
build-all: lib examples $(TRAIN_MPI) $(TEST_BIN) $(BENCH_BIN)

# cmocka is the one test dependency: install it when we can, else say how.
deps:
	@sh tools/need-cmocka.sh

# Build and run every test in this precision, then the machine matrix (MATRIX=0:
# not); used by `make test`, which runs both precisions whatever the first gives
# and ends with one line "N passed, M failed" over both (tests/summary.sh).
check: lib examples $(TRAIN_MPI) $(TEST_BIN)
	@rm -f $(B)/test-counts
	@rc=0; sh tests/run.sh $(B) $(TEST_BIN) || rc=1; \
	if [ "$(MATRIX)" = 1 ]; then sh tests/matrix.sh $(B) || rc=1; fi; \
	if [ "$(BROWSER)" = 1 ]; then sh tests/browser/run.sh $(B) || rc=1; fi; exit $$rc

test: deps
	@rm -f $(call bdir,float)/test-counts $(call bdir,double)/test-counts build/install/test-counts
	@rc=0; \
	$(MAKE) --no-print-directory REAL=float SAN=$(SAN) check || rc=1; \
	$(MAKE) --no-print-directory REAL=double SAN=$(SAN) check || rc=1; \
	$(MAKE) --no-print-directory SAN=$(SAN) test-install || rc=1; \
	sh tests/summary.sh $$rc $(call bdir,float) $(call bdir,double) build/install

# The worked example f = x*(x+y) with its tape table, then the main job.
run: $(B)/examples/quickstart $(B)/examples/train
	$(B)/examples/quickstart
	$(B)/examples/train --out $(B)/spirals.crm

# Fashion-MNIST (docs/TRAINING.md): installs Debian's dataset-fashion-mnist when
# it is missing (as root or with sudo -n, else prints the command and fails), then
# trains 784-128-10 ReLU with SGD (lr 0.1, batch 64, 10 epochs) on all 60000
# training images. `make fashion-adam`: 784-256-128-10 with Adam (lr 1e-3).
# `make fashion-cnn`: the convolutional network FASHION_CNN (--arch) with Adam.
FASHION_DIR ?= /usr/share/datasets/fashion-mnist
FASHION_RUN  = $(B)/examples/train --data $(FASHION_DIR) --val 0 --batch 64 --epochs 10
fashion: $(B)/examples/train
	@sh tools/get-fashion-mnist.sh $(FASHION_DIR)
	$(FASHION_RUN) --hidden 128 --optim sgd --lr 0.1 --out $(B)/fashion.crm --log $(B)/fashion.csv

fashion-adam: $(B)/examples/train
	@sh tools/get-fashion-mnist.sh $(FASHION_DIR)
	$(FASHION_RUN) --hidden 256,128 --optim adam --lr 0.001 --out $(B)/fashion-adam.crm \
	    --log $(B)/fashion-adam.csv

FASHION_CNN = conv 8 3x3 pad 1, relu, maxpool 2, conv 16 3x3 pad 1, relu, maxpool 2, \
              flatten, dense 128, relu, dense 10
fashion-cnn: $(B)/examples/train
	@sh tools/get-fashion-mnist.sh $(FASHION_DIR)
	$(FASHION_RUN) --arch "$(FASHION_CNN)" --optim adam --lr 0.001 --seed 1 \
	    --out $(B)/fashion-cnn.crm --log $(B)/fashion-cnn.csv

# A character language model on real text (docs/TRAINING.md, issue 15). `make poems`:
# the 300 Tang poems of Debian's fortunes-zh (tools/get-text.sh installs it when it
# is missing: as root or with sudo -n, else prints the command and fails) -> a
# one-layer LSTM (hidden 256, embedding 64) trained on one thread for 20 epochs
# (about 75 s of CPU), then a poem sampled from the saved model alone.
# build/data/fortunes.txt (tools/get-text.sh fortunes) is the English corpus.
TEXT_DIR   := build/data
POEM_TRAIN  = $(B)/examples/train_text --text $(TEXT_DIR)/tang300.txt --cell lstm --hidden 256 \
              --embed 64 --batch 16 --steps 32 --epochs 20 --lr 0.003 --threads 1 --seed 1
.PHONY: poems
poems: $(B)/examples/train_text
	@sh tools/get-text.sh tang300 $(TEXT_DIR)/tang300.txt
	$(POEM_TRAIN) --out $(B)/poems.crm --log $(B)/poems.csv
	$(B)/examples/train_text --model $(B)/poems.crm --generate 160 --prime "《" \
	    --temperature 0.8 --seed 1

# Pictures (docs/TUTORIAL.md): run every lesson, which writes its graph as DOT
# and as an interactive page (cr_tape_html, --pages: build/graphs/<name>.html,
# which needs no Graphviz) into build/graphs/, and render each DOT with Graphviz
# to SVG and PNG, with the
# training step graphs that `make run` / `make fashion` leave in build/<real>/*.dot;
# a training log from `make fashion` / `make fashion-adam` is plotted to
# build/graphs/<name>/10_training_curve.svg. Graphviz is installed first when it
# is missing (tools/need-bench.sh: as root or with sudo -n, else it prints how).
GRAPH_DIR  := build/graphs
LESSON_BIN := $(filter $(B)/examples/lessons/%,$(EX_BIN))
graphs-deps:
	@sh tools/need-bench.sh graphs

graphs: graphs-deps $(LESSON_BIN)
	@mkdir -p $(GRAPH_DIR)
	@for l in $(LESSON_BIN); do $$l -q -o $(GRAPH_DIR) --pages >/dev/null || exit 1; done
	@for d in $(wildcard $(B)/*.dot); do cp $$d $(GRAPH_DIR)/; done
	@for c in $(wildcard $(B)/fashion*.csv); do n=$$(basename $$c .csv); \
	    $(B)/examples/lessons/10_training_curve $$c -q -o $(GRAPH_DIR)/$$n >/dev/null || exit 1; done
	@if command -v dot >/dev/null 2>&1; then \
	    for f in $(GRAPH_DIR)/*.dot; do \
	        dot -Tsvg "$$f" -o "$${f%.dot}.svg" && dot -Tpng "$$f" -o "$${f%.dot}.png" || exit 1; \
	    done; \
	    echo "graphs: $(GRAPH_DIR)/*.svg and *.png (training curves: $(GRAPH_DIR)/*training_curve*.svg)"; \
	    echo "        interactive pages (open in a browser): $(GRAPH_DIR)/*.html"; \
	else \
	    echo "graphs: DOT files are in $(GRAPH_DIR); Graphviz's dot is not installed, so they were"; \
	    echo "        not rendered. Install it with: apt-get install graphviz   (then: make graphs)"; \
	fi

# The screenshots of the lesson pages in docs/TUTORIAL*.md (docs/img/page-*.png):
# headless chromium driven by tests/browser/screenshots.js (puppeteer-core, installed
# in tests/browser/ by npm ci when missing). Chinese pages need a CJK font
# (fonts-wqy-microhei).
.PHONY: page-shots
page-shots: $(LESSON_BIN)
	@test -d tests/browser/node_modules/puppeteer-core || \
	    (cd tests/browser && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund)
	node tests/browser/screenshots.js $(B) docs/img

# Fuzzing (fuzz/, docs/HARDENING.md): libFuzzer harnesses built with clang, the
# library compiled into them with ASan+UBSan. `make fuzz` fuzzes each harness for
# FUZZ_SECONDS (new inputs go to build/fuzz-*/corpus/, crashes to
# build/fuzz-*/crashes/); `make fuzz-corpus` only replays the committed corpora
# (fuzz/corpus/<harness>/), as CI does. FUZZ=idx,csv picks harnesses.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_B       := build/fuzz-$(REAL)
FUZZ_ALL     := $(sort $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c)))
FUZZ         ?= $(FUZZ_ALL)
comma        := ,
FUZZ_LIST    := $(subst $(comma), ,$(FUZZ))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -MMD -MP -pthread $(FUZZ_SAN)
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_B)/obj/%.o)

.SECONDARY: $(FUZZ_OBJ)
$(FUZZ_B)/obj/%_avx512.o: FUZZ_ISA := -mavx512f -mavx512dq -mavx512vl -mavx512bw -mfma -mavx2
$(FUZZ_B)/obj/%_avx2.o:   FUZZ_ISA := -mavx2 -mfma

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_ISA) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_B)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Ifuzz -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

fuzz: $(FUZZ_LIST:%=$(FUZZ_B)/fuzz_%)
	@for h in $(FUZZ_LIST); do \
	    mkdir -p $(FUZZ_B)/corpus/$$h $(FUZZ_B)/crashes; \
	    echo "fuzz: $$h for $(FUZZ_SECONDS) s (log: $(FUZZ_B)/$$h.log)"; \
	    if $(FUZZ_B)/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_B)/crashes/$$h- $(FUZZ_B)/corpus/$$h fuzz/corpus/$$h \
	        > $(FUZZ_B)/$$h.log 2>&1; then \
	        grep -E '^(Done |stat::(number_of_executed_units|new_units_added|peak_rss_mb))' $(FUZZ_B)/$$h.log; \
	    else tail -n 40 $(FUZZ_B)/$$h.log; echo "fuzz: $$h FAILED"; exit 1; fi; \
	done

fuzz-corpus: $(FUZZ_LIST:%=$(FUZZ_B)/fuzz_%)
	@for h in $(FUZZ_LIST); do \
	    n=$$(ls fuzz/corpus/$$h | wc -l); \
	    if $(FUZZ_B)/fuzz_$$h fuzz/corpus/$$h/* > $(FUZZ_B)/$$h-corpus.log 2>&1; then \
	        echo "fuzz-corpus: $$h: $$n inputs clean"; \
	    else tail -n 40 $(FUZZ_B)/$$h-corpus.log; echo "fuzz-corpus: $$h FAILED"; exit 1; fi; \
	done

# Benchmarks (bench/, never part of test or CI): every bench/*.c becomes a program,
# linked with OpenBLAS when it is installed (-DCR_HAVE_OPENBLAS; without it the
# program prints how to install it). `make bench` first installs what the peers need
# (tools/need-bench.sh: OpenBLAS, PyTorch, Fashion-MNIST; as root or with sudo -n,
# else it prints the command and goes on), then re-reads this Makefile (bench-run)
# so that a freshly installed OpenBLAS is linked. bench/run.sh runs each part in
# turn; add new parts there. It sets OPENBLAS_CORETYPE (bench/openblas_core.sh) and
# unsets OPENBLAS_L2_SIZE for the peers only.
OPENBLAS_PROBE := printf '\#include <cblas.h>\nint main(void){return 0;}\n'
HAVE_OPENBLAS  := $(shell $(OPENBLAS_PROBE) | $(CC) -x c - -o /dev/null -lopenblas 2>/dev/null && echo 1)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

# Rebuilt when OpenBLAS appears or goes: the stamp's name says which.
BENCH_STAMP := $(B)/bench/.openblas-$(if $(HAVE_OPENBLAS),yes,no)
$(BENCH_STAMP):
	@mkdir -p $(@D)
	@rm -f $(B)/bench/.openblas-* && touch $@

$(B)/bench/%: bench/%.c $(LIB_A) $(BENCH_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(if $(HAVE_OPENBLAS),-DCR_HAVE_OPENBLAS) $(CFLAGS) -o $@ $< $(LIB_A) \
	    $(LDFLAGS) $(if $(HAVE_OPENBLAS),-lopenblas) $(LDLIBS)

bench:
	@CC="$(CC)" FASHION_DIR="$(FASHION_DIR)" sh tools/need-bench.sh bench
	@$(MAKE) --no-print-directory bench-run

bench-run: lib $(BENCH_BIN) $(B)/examples/train $(B)/examples/train_text $(TRAIN_MPI)
	@FASHION_DIR="$(FASHION_DIR)" sh bench/run.sh $(B)

clean:
	rm -rf build

# Install (README "Install"): both precisions' libraries (libchainrule and
# libchainrule_double: .a, and the .so with its SONAME and dev symlinks), the header,
# chainrule.pc and chainrule_double.pc (whose Cflags define CR_REAL_DOUBLE), the
# training program as chainrule-train and its man page, made from its --help by
# tools/help-to-man.sh (and so the graph runner, examples/graph_run.c, as
# chainrule-run). As root into the system (DESTDIR empty) it runs ldconfig;
# otherwise tools/post-install.sh says how programs find the library. `make
# uninstall` with the same PREFIX/DESTDIR removes exactly these files.
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
INST_FILES := $(INCLUDEDIR)/chainrule.h $(BINDIR)/chainrule-train \
    $(MANDIR)/man1/chainrule-train.1 $(BINDIR)/chainrule-run $(MANDIR)/man1/chainrule-run.1 \
    $(BINDIR)/chainrule-train-text $(MANDIR)/man1/chainrule-train-text.1 \
    $(BINDIR)/chainrule-train-mpi $(MANDIR)/man1/chainrule-train-mpi.1 \
    $(BINDIR)/chainrule-train-text-mpi $(MANDIR)/man1/chainrule-train-text-mpi.1 \
    $(foreach n,chainrule chainrule_double, \
    $(LIBDIR)/lib$(n).a $(LIBDIR)/lib$(n).so.$(CR_VERSION) $(LIBDIR)/lib$(n).so.$(CR_MAJOR) \
    $(LIBDIR)/lib$(n).so $(LIBDIR)/pkgconfig/$(n).pc)
.PHONY: uninstall install-lib test-install

# With MPI (MPI=1, or found: see TRAIN_MPI) the data-parallel trainers too, as
# chainrule-train-mpi and chainrule-train-text-mpi; their manual pages are those of
# chainrule-train and chainrule-train-text (the same options).
INST_MPI := $(filter %/train-mpi %/train-text-mpi,$(TRAIN_MPI))
install: $(B)/examples/train $(B)/examples/graph_run $(B)/examples/train_text $(INST_MPI)
	@$(MAKE) --no-print-directory REAL=float install-lib
	@$(MAKE) --no-print-directory REAL=double install-lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 644 include/chainrule.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 755 $(B)/examples/train $(DESTDIR)$(BINDIR)/chainrule-train
	$(B)/examples/train --help | sh tools/help-to-man.sh chainrule-train 1 "chainrule $(CR_VERSION)" \
	    > $(DESTDIR)$(MANDIR)/man1/chainrule-train.1
	install -m 755 $(B)/examples/graph_run $(DESTDIR)$(BINDIR)/chainrule-run
	$(B)/examples/graph_run --help | sh tools/help-to-man.sh chainrule-run 1 "chainrule $(CR_VERSION)" \
	    > $(DESTDIR)$(MANDIR)/man1/chainrule-run.1
	install -m 755 $(B)/examples/train_text $(DESTDIR)$(BINDIR)/chainrule-train-text
	$(B)/examples/train_text --help | sh tools/help-to-man.sh chainrule-train-text 1 \
	    "chainrule $(CR_VERSION)" > $(DESTDIR)$(MANDIR)/man1/chainrule-train-text.1
ifneq ($(INST_MPI),)
	install -m 755 $(B)/examples/train-mpi $(DESTDIR)$(BINDIR)/chainrule-train-mpi
	echo '.so man1/chainrule-train.1' > $(DESTDIR)$(MANDIR)/man1/chainrule-train-mpi.1
	install -m 755 $(B)/examples/train-text-mpi $(DESTDIR)$(BINDIR)/chainrule-train-text-mpi
	echo '.so man1/chainrule-train-text.1' > $(DESTDIR)$(MANDIR)/man1/chainrule-train-text-mpi.1
endif
	@sh tools/post-install.sh install '$(DESTDIR)' '$(PREFIX)' '$(LIBDIR)' '$(BINDIR)' \
	    libchainrule.so.$(CR_MAJOR)

# One precision's libraries and .pc file (called by install for each).
install-lib: lib
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/lib$(INST_NAME).a
	install -m 755 $(LIB_SO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf lib$(INST_NAME).so.$(CR_VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf lib$(INST_NAME).so.$(CR_VERSION) $(DESTDIR)$(LIBDIR)/lib$(INST_NAME).so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(CR_VERSION)|' -e 's|@NAME@|$(INST_NAME)|' \
	    -e 's|@CFLAGS@|$(if $(filter double,$(REAL)),-DCR_REAL_DOUBLE)|' \
	    -e 's|@LIBS@|$(LDLIBS)|' tools/chainrule.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/$(INST_NAME).pc

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INST_FILES))
	@sh tools/post-install.sh uninstall '$(DESTDIR)' '$(PREFIX)' '$(LIBDIR)' '$(BINDIR)' \
	    libchainrule.so.$(CR_MAJOR)

# Install into a temporary prefix and use it as the README says (tests/install.sh);
# part of `make test`. Not under SAN=1: a sanitized .so needs sanitized programs.
# The install test (tests/install.sh); its counts go to build/install/test-counts
# for the summary line of `make test`. Skipped in sanitizer builds (a sanitized
# .so needs sanitized programs).
test-install:
	@mkdir -p build/install
ifneq ($(SAN),0)
	@echo "install: 0 passed, 0 failed (skipped under SAN=$(SAN))"; echo "0 0" > build/install/test-counts
else
	@MAKE='$(MAKE)' CR_TEST_COUNTS=$(CURDIR)/build/install/test-counts sh tests/install.sh
endif

-include $(shell find build -name '*.d' 2>/dev/null)
