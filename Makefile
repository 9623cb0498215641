# xgpumap — build, test, install.
#
#   make            build/xgpumap, build/libxgpumap.so, build/libxgpumap.a
#   make deps       install the Debian packages needed to build and test
#   make demo       install deps, build, run the main job on the simulated host
#   make check      install deps, ASan+UBSan build in build-san/, all tests
#   make check-drm  GEM handles and dma-bufs against real DRM drivers (QEMU, ~1 min)
#   make install    PREFIX=/usr/local DESTDIR=
#
# Every lib/**/*.c, cmd/*.c and tests/unit/test_*.c is picked up by wildcard,
# so adding a file needs no Makefile change.

VERSION     := 0.1.0
SOVERSION   := 0
BUILD       ?= build
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
DATADIR     ?= $(PREFIX)/share
PKGCONFIG   ?= pkg-config
OBJCOPY     ?= objcopy

CC          ?= cc
CFLAGS      ?= -O2 -g
WARN        := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wno-unused-parameter -Wno-missing-field-initializers -Wformat=2 -Wvla
BASEFLAGS   := -std=gnu11 -D_GNU_SOURCE -fPIC $(WARN) -Ilib/include -Ilib \
               -DXGM_VERSION_STRING='"$(VERSION)"'
SANFLAGS    := -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
ifeq ($(SAN),1)
CFLAGS      := -O1 -g $(SANFLAGS)
LDSAN       := $(SANFLAGS)
TEST_HOOKS  ?= 1
endif
# The test build carries the fault and crash points of tests/cli/050-faults.bats
# (XGPUMAP_FAULT, XGPUMAP_CRASH); a released library has none.
ifeq ($(TEST_HOOKS),1)
BASEFLAGS   += -DXGM_TEST_HOOKS
endif

# ---- feature detection: backends are compiled where their libraries are ----
have = $(shell $(PKGCONFIG) --exists $(1) 2>/dev/null && echo 1)
XEN_PKGS    := xencontrol xenstore xenlight xenforeignmemory xendevicemodel xenevtchn
HAVE_XEN    := $(if $(and $(foreach p,$(XEN_PKGS),$(call have,$(p)))),1)
HAVE_DRM    := $(call have,libdrm)
HAVE_RL     := $(call have,readline)

DEP_PKGS    := jansson sqlite3
LIB_SRC     := $(wildcard lib/*.c lib/util/*.c lib/core/*.c lib/bench/*.c lib/dump/*.c \
                          lib/sim/*.c lib/client/*.c)
ifeq ($(HAVE_XEN),1)
DEP_PKGS    += $(XEN_PKGS)
BASEFLAGS   += -DXGM_HAVE_XEN
LIB_SRC     += $(wildcard lib/xen/*.c)
endif
ifeq ($(HAVE_DRM),1)
DEP_PKGS    += libdrm
BASEFLAGS   += -DXGM_HAVE_DRM
LIB_SRC     += $(wildcard lib/drm/*.c)
endif
# Building needs jansson at least; say so here rather than fail at link time.
# The targets that run deps first build in a make of their own (below).
NEEDS_NO_DEPS := deps demo check check-xen check-drm clean uninstall
ifneq ($(filter-out $(NEEDS_NO_DEPS),$(or $(MAKECMDGOALS),all)),)
ifneq ($(call have,jansson),1)
$(error jansson not found by pkg-config: run 'make deps' (or 'make demo' / 'make check', which run it))
endif
endif
DEP_CFLAGS  := $(shell $(PKGCONFIG) --cflags $(DEP_PKGS) 2>/dev/null)
DEP_LIBS    := $(shell $(PKGCONFIG) --libs $(DEP_PKGS) 2>/dev/null)

CMD_SRC     := $(wildcard cmd/*.c)
CMD_CFLAGS  := $(if $(HAVE_RL),-DXGM_HAVE_READLINE $(shell $(PKGCONFIG) --cflags readline))
CMD_LIBS    := $(if $(HAVE_RL),$(shell $(PKGCONFIG) --libs readline))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CMD_OBJ     := $(CMD_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
DEPFILES    := $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(UNIT_BIN:=.d)

ALL_CFLAGS  = $(BASEFLAGS) $(DEP_CFLAGS) $(CFLAGS)

# Objects depend on the flags they were built with: building the same
# directory with other flags (SAN=1, HAVE_XEN=) rebuilds what they change.
FLAGS_NOW   = $(ALL_CFLAGS) $(CMD_CFLAGS) $(LDSAN)
FLAGS_FILE  := $(BUILD)/.flags
ifneq ($(FLAGS_NOW),$(file <$(FLAGS_FILE)))
$(shell mkdir -p $(BUILD))
$(file >$(FLAGS_FILE),$(FLAGS_NOW))
endif

.PHONY: all deps demo check test test-unit test-cli install uninstall clean \
        check-headers check-abi check-man3 lint-man check-xen check-drm test-vmm test-fuzz-proto

all: $(BUILD)/xgpumap $(BUILD)/xgpumapd $(BUILD)/libxgpumap.so $(BUILD)/libxgpumap.a $(BUILD)/xgpumap.pc

# Header dependencies come from the compiler (-MMD -MP), so a changed
# header rebuilds exactly what includes it.
$(BUILD)/obj/lib/%.o: lib/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -MMD -MP -c -o $@ $<

$(BUILD)/obj/cmd/%.o: cmd/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) -Ilib/include $(DEP_CFLAGS) $(CMD_CFLAGS) \
	      -DXGM_VERSION_STRING='"$(VERSION)"' $(CFLAGS) -MMD -MP -c -o $@ $<


# The installed static archive exports what the shared library exports and
# nothing else: its objects are linked into one relocatable object whose
# hidden symbols (everything not XGM_API) are then made local, so a program
# linking it cannot collide with blob_free or plan_build.
$(BUILD)/libxgpumap.a: $(LIB_OBJ)
	@rm -f $@
	$(LD) -r -o $(BUILD)/obj/libxgpumap.o $^
	$(OBJCOPY) --localize-hidden $(BUILD)/obj/libxgpumap.o
	$(AR) rcs $@ $(BUILD)/obj/libxgpumap.o

# The unit tests reach internal functions: they link the objects as they are.
$(BUILD)/libxgpumap-internal.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libxgpumap.so: $(LIB_OBJ) lib/libxgpumap.map
	$(CC) -shared -Wl,-soname,libxgpumap.so.$(SOVERSION) \
	      -Wl,--version-script=lib/libxgpumap.map -Wl,--no-undefined \
	      $(LDSAN) -o $@.$(VERSION) $(LIB_OBJ) $(DEP_LIBS) -lm
	ln -sf libxgpumap.so.$(VERSION) $(BUILD)/libxgpumap.so.$(SOVERSION)
	ln -sf libxgpumap.so.$(SOVERSION) $@

# The CLI links the static library, as bpftool links libbpf: one self-contained
# binary, still using nothing but the public header.
$(BUILD)/xgpumap: $(CMD_OBJ) $(BUILD)/libxgpumap.a
	$(CC) $(LDSAN) -o $@ $(CMD_OBJ) $(BUILD)/libxgpumap.a $(DEP_LIBS) $(CMD_LIBS) -lm

# The daemon runs the engine and sets who it acts for (ctx.h): it links the
# library's objects as the unit tests do.
DAEMON_SRC  := $(wildcard daemon/*.c)
DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(BUILD)/obj/%.o)
DEPFILES    += $(DAEMON_OBJ:.o=.d)
# After every DEPFILES +=: a header the daemon includes rebuilds it too.
-include $(DEPFILES)
$(BUILD)/obj/daemon/%.o: daemon/%.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/xgpumapd: $(DAEMON_OBJ) $(BUILD)/libxgpumap-internal.a
	$(CC) $(LDSAN) -o $@ $(DAEMON_OBJ) $(BUILD)/libxgpumap-internal.a $(DEP_LIBS) -lm

# A raw protocol client for the daemon's tests (tests/daemon/).
$(BUILD)/tests/xgmd-client: tests/daemon/client.c $(BUILD)/libxgpumap-internal.a $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDSAN) -o $@ $< $(BUILD)/libxgpumap-internal.a $(DEP_LIBS) -lm

# The daemon's request parser under the fuzz driver for a few seconds, in
# every check (make fuzz runs it longer, with libFuzzer where there is one).
$(BUILD)/tests/fuzz_proto: tests/fuzz/fuzz_proto.c tests/fuzz/driver.c daemon/proto.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Idaemon -Itests/fuzz $(LDSAN) -o $@ tests/fuzz/fuzz_proto.c \
	      tests/fuzz/driver.c daemon/proto.c $(DEP_LIBS)

test-fuzz-proto: $(BUILD)/tests/fuzz_proto
	@$(BUILD)/tests/fuzz_proto -n 200000 -t 5 -s 1 tests/fuzz/corpus/proto

# Regenerated on every run: PREFIX may differ between make and make install.
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	     -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	     -e 's|@REQUIRES@|$(filter-out jansson,$(DEP_PKGS))|'

.PHONY: $(BUILD)/xgpumap.pc
$(BUILD)/xgpumap.pc: lib/xgpumap.pc.in
	@$(PC_SED) $< > $@

# Unit tests link the internal archive so they can reach internal functions.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libxgpumap-internal.a $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKGCONFIG) --cflags cmocka) $(LDSAN) -MMD -MP -o $@ $< \
	      $(BUILD)/libxgpumap-internal.a $(DEP_LIBS) $(shell $(PKGCONFIG) --libs cmocka) -lm

deps:
	@sh tests/install-deps.sh

test-unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

test-cli: $(BUILD)/xgpumap $(BUILD)/xgpumapd $(BUILD)/tests/xgmd-client
	@test "$(TEST_HOOKS)" = 1 || { echo "test-cli: the fault tests need a test build (TEST_HOOKS=1); 'make check' makes one"; exit 1; }
	XGPUMAP=$(abspath $(BUILD)/xgpumap) XGPUMAPD=$(abspath $(BUILD)/xgpumapd) \
	XGMD_CLIENT=$(abspath $(BUILD)/tests/xgmd-client) bats tests/cli

# A VMM's program against an installed tree, beside CLI commands in a loop.
test-vmm: all
	@rm -rf $(BUILD)/vmm-root
	@$(MAKE) --no-print-directory -s install DESTDIR=$(abspath $(BUILD))/vmm-root PREFIX=/usr > /dev/null
	@tests/vmm/run.sh $(BUILD)/vmm-root "$(CC)" "$(LDSAN)"

test: all check-headers check-abi check-man3 test-unit test-cli test-vmm lint-man test-fuzz-proto

# demo, check and check-xen install the dependencies, then build in a second
# make: this one asked pkg-config while it read the Makefile, before deps
# could install anything, so what it found may be missing.

# The test build: AddressSanitizer + UBSan, in its own directory.
check: deps
	@$(MAKE) --no-print-directory BUILD=build-san SAN=1 test

# The main job on the simulated host, in a private state file.
demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh $(BUILD)/xgpumap

# Each public header compiles on its own, in strict C11.
check-headers:
	@for h in lib/include/*.h; do \
	  echo "#include \"$$(basename $$h)\"" | \
	  $(CC) -std=c11 -pedantic -Werror -Wall -Ilib/include $(DEP_CFLAGS) -x c -fsyntax-only - || exit 1; \
	done; echo "headers: ok"

# Every XGM_API symbol in the .so must be listed in the version script.
check-abi: $(BUILD)/libxgpumap.so $(BUILD)/libxgpumap.a
	@tests/check-abi.sh $(BUILD)/libxgpumap.so lib/libxgpumap.map $(BUILD)/obj/lib $(BUILD)/libxgpumap.a

# Real Xen 4.17 in QEMU (TCG), PV and PVH dom0: tests/xen/run.sh.
check-xen: deps
	@$(MAKE) --no-print-directory $(BUILD)/xgpumap $(BUILD)/xgpumapd \
		$(BUILD)/xen-rig-bin/ioserv-rig $(BUILD)/xen-rig-bin/vmm-standin
	@$(MAKE) --no-print-directory check-drm
	@tests/xen/run.sh $(BUILD)

# The DRM side of buffers a VMM hands over (GEM handles, dma-bufs) against
# the real bochs-drm and virtio-gpu drivers, in a Linux under QEMU (no Xen).
check-drm: deps
	@$(MAKE) --no-print-directory $(BUILD)/libxgpumap-internal.a
	@tests/drm/run.sh $(BUILD) "$(ALL_CFLAGS) $(LDSAN)" "$(DEP_LIBS) -lm"

# dom0's side of the rig's ioreq server test: it reaches the xen backend's
# internals (lib/xen/ioserv.h), so it links the objects as they are.
$(BUILD)/xen-rig-bin/ioserv-rig: tests/xen/ioserv-rig.c $(BUILD)/libxgpumap-internal.a $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDSAN) -MMD -MP -o $@ $< $(BUILD)/libxgpumap-internal.a $(DEP_LIBS) -lm

# The rig's stand-in VMM: a client of the public API only, as a VMM is.
$(BUILD)/xen-rig-bin/vmm-standin: tests/xen/vmm-standin.c $(BUILD)/libxgpumap.a $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDSAN) -MMD -MP -o $@ $< $(BUILD)/libxgpumap.a $(DEP_LIBS) -lm

# Every parser under a fuzzer for a bounded time; not part of check.
.PHONY: fuzz
fuzz:
	@tests/fuzz/run.sh "$(filter -DXGM_HAVE_%,$(BASEFLAGS)) $(DEP_CFLAGS)" "$(DEP_LIBS)"

# man 3 gives every public prototype exactly as the header declares it.
check-man3:
	@tests/check-man3.sh man/libxgpumap.3 lib/include/*.h

lint-man:
	@for m in man/*.[0-9]; do \
	  out=$$(mandoc -Tlint -W warning $$m 2>&1); \
	  if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	done; echo "man: lint clean"

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	           $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	           $(DESTDIR)$(DATADIR)/bash-completion/completions \
	           $(DESTDIR)$(DATADIR)/zsh/vendor-completions
	install -m 755 $(BUILD)/xgpumap $(DESTDIR)$(BINDIR)/xgpumap
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 \
	           $(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/xgpumapd $(DESTDIR)$(SBINDIR)/xgpumapd
	install -m 644 man/xgpumapd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 man/xgpumapd.7 $(DESTDIR)$(MANDIR)/man7/
	sed 's|@SBINDIR@|$(SBINDIR)|' daemon/xgpumapd.service > $(DESTDIR)$(UNITDIR)/xgpumapd.service
	install -m 644 daemon/xgpumapd.socket $(DESTDIR)$(UNITDIR)/
	install -m 755 $(BUILD)/libxgpumap.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libxgpumap.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libxgpumap.so.$(SOVERSION)
	ln -sf libxgpumap.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libxgpumap.so
	install -m 644 $(BUILD)/libxgpumap.a $(DESTDIR)$(LIBDIR)/
	install -m 644 lib/include/xgpumap.h lib/include/xgpumap-doc.h \
	               lib/include/xgpumap-sim.h $(DESTDIR)$(INCLUDEDIR)/
	$(PC_SED) lib/xgpumap.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/xgpumap.pc
	install -m 644 man/xgpumap.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/libxgpumap.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 completions/xgpumap.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/xgpumap
	install -m 644 completions/_xgpumap $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_xgpumap

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/xgpumapd $(DESTDIR)$(MANDIR)/man8/xgpumapd.8 \
	      $(DESTDIR)$(MANDIR)/man7/xgpumapd.7 $(DESTDIR)$(UNITDIR)/xgpumapd.service \
	      $(DESTDIR)$(UNITDIR)/xgpumapd.socket
	rm -f $(DESTDIR)$(BINDIR)/xgpumap $(DESTDIR)$(LIBDIR)/libxgpumap.* \
	      $(DESTDIR)$(INCLUDEDIR)/xgpumap.h $(DESTDIR)$(INCLUDEDIR)/xgpumap-doc.h \
	      $(DESTDIR)$(INCLUDEDIR)/xgpumap-sim.h $(DESTDIR)$(LIBDIR)/pkgconfig/xgpumap.pc \
	      $(DESTDIR)$(MANDIR)/man1/xgpumap.1 $(DESTDIR)$(MANDIR)/man3/libxgpumap.3 \
	      $(DESTDIR)$(DATADIR)/bash-completion/completions/xgpumap \
	      $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_xgpumap

clean:
	rm -rf build build-san
