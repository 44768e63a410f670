# chainrule — plain Makefile. See README.md.
#   make               float library (build/float/)
#   make REAL=double   double library side by side (build/double/)
#   make test          both precisions, every test (installs cmocka if it can)
#   make run           the main job on an embedded default
#   make SAN=1 ...     ASan+UBSan build (build/<real>-san/)
#   make BLAS=openblas route GEMM to OpenBLAS (off by default)

REAL   ?= float
SAN    ?= 0
BLAS   ?=
PREFIX ?= /usr/local
DESTDIR ?=
CC     ?= cc

ifeq ($(filter $(REAL),float double),)
$(error REAL must be float or double, not '$(REAL)')
endif

B := build/$(REAL)$(if $(filter 1,$(SAN)),-san)$(if $(BLAS),-$(BLAS))

CPPFLAGS += -Iinclude -D_POSIX_C_SOURCE=200809L
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -pedantic -fPIC -MMD -MP -pthread
LDLIBS   += -lm -lpthread
ifeq ($(REAL),double)
CPPFLAGS += -DCR_REAL_DOUBLE
endif
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
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

LIB_DIRS := kernel graph ops nn optim data
LIB_SRC  := $(sort $(wildcard $(addsuffix /*.c,$(LIB_DIRS))))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB_A    := $(B)/libchainrule.a
LIB_SO   := $(B)/libchainrule.so

TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
TEST_HELP := $(B)/obj/tests/helpers.o

EX_SRC := $(sort $(wildcard examples/*.c examples/lessons/*.c))
EX_BIN := $(EX_SRC:examples/%.c=$(B)/examples/%)

.PHONY: all lib test check examples run clean install deps bench fuzz graphs fashion
all: lib examples

lib: $(LIB_A) $(LIB_SO)

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

# SIMD kernels: only these files get ISA flags; the CPU is checked at run time.
$(B)/obj/%_avx512.o: CFLAGS += -mavx512f -mavx512dq -mavx512vl -mavx512bw -mfma -mavx2
$(B)/obj/%_avx2.o:   CFLAGS += -mavx2 -mfma

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

examples: $(EX_BIN)

# cmocka is the one test dependency: install it when we can, else say how.
deps:
	@sh tools/need-cmocka.sh

# Build and run every test in this precision (used by `make test`).
check: lib examples $(TEST_BIN)
	@sh tests/run.sh $(B) $(TEST_BIN)

test: deps
	@$(MAKE) --no-print-directory REAL=float SAN=$(SAN) check
	@$(MAKE) --no-print-directory REAL=double SAN=$(SAN) check

# The worked example f = x*(x+y) with its tape table, then the main job.
run: $(B)/examples/quickstart $(B)/examples/train
	$(B)/examples/quickstart
	$(B)/examples/train

clean:
	rm -rf build

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/chainrule.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|0.1.0|' \
	    -e 's|@CFLAGS@|$(if $(filter double,$(REAL)),-DCR_REAL_DOUBLE)|' \
	    -e 's|@LIBS@|$(LDLIBS)|' tools/chainrule.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/chainrule.pc

-include $(shell find build -name '*.d' 2>/dev/null)
