# triad build. `make` builds the three daemons and build/libtriad.a they link.
# Every daemon directory is split into lib<daemon>.a (everything but main.c) so
# unit tests under tests/unit/<daemon>/ can link the pure parsers directly.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
SANITIZE ?=
PYTHON   ?= /usr/bin/python3
# systemd units go here; their /usr/sbin paths are rewritten to $(PREFIX)/sbin.
UNITDIR  ?= $(PREFIX)/lib/systemd/system

PKGS      := libevent_core libevent_extra libevent_pthreads openssl libmagic inih pam \
             libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

CC      ?= gcc
CFLAGS  := -std=c17 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) \
           -DTRIAD_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS)
# --as-needed: a daemon records only the libraries it calls (ftpd/smtpd no libmagic and
# its compressors, httpd no PAM), each one loaded costs resident pages (issue 10).
LDFLAGS := -Wl,--as-needed $(EXTRA_LDFLAGS)
LIBS    := $(PKG_LIBS) -lpthread

# TEST_HOOKS=1 (the default) compiles the sandbox probe the integration tests
# use (sandbox.h: TRIAD_SANDBOX_PROBE*); release builds may set TEST_HOOKS=0.
TEST_HOOKS ?= 1
ifeq ($(TEST_HOOKS),1)
CFLAGS  += -DTRIAD_TEST_HOOKS
endif

ifeq ($(SANITIZE),1)
BUILD   := build/sanitize
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   := build
endif

.SECONDEXPANSION:
# Keep the per-daemon archives and objects make would treat as intermediate.
.SECONDARY:
DAEMONS := httpd ftpd smtpd
BINS    := $(DAEMONS:%=$(BUILD)/triad-%)

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIBTRIAD   := $(BUILD)/libtriad.a

daemon_src = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
daemon_obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(call daemon_src,$(1)))

UNIT_SRC  := $(wildcard tests/unit/*/test_*.c)
# tools/confkeys prints every key of the schema tables (for the man page test).
CONFKEYS  := $(BUILD)/tools/confkeys
MAN_PAGES := man/triad-httpd.8 man/triad-ftpd.8 man/triad-smtpd.8 man/triad.conf.5
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test unit integration run install clean deps check-deps deb test-deb
all: $(BINS)

# Tests build and also copy the plain binaries next to build/ so the
# integration suite can pick either flavour through TRIAD_BUILD.
$(LIBTRIAD): $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/lib%.a: $$(call daemon_obj,%)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^ $(if $^,,/dev/null)

$(BUILD)/triad-%: $(BUILD)/obj/%/main.o $(BUILD)/lib%.a $(LIBTRIAD)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/$*/main.o $(BUILD)/lib$*.a $(LIBTRIAD) $(LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/common/%: $(BUILD)/obj/tests/unit/common/%.o $(LIBTRIAD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBTRIAD) $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $$(BUILD)/lib$$(firstword $$(subst /, ,$$*)).a $(LIBTRIAD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/lib$(firstword $(subst /, ,$*)).a $(LIBTRIAD) $(LIBS) $(CMOCKA_LIBS)

$(CONFKEYS): $(BUILD)/obj/tools/confkeys.o $(DAEMONS:%=$(BUILD)/lib%.a) $(LIBTRIAD)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

deps:
	@./tools/deps.sh

# check_io_boundary.sh: httpd, ftpd and smtpd reach connections only through
# the conn API (their sources and compiled objects are checked).
unit: $(UNIT_BINS) $(DAEMONS:%=$(BUILD)/lib%.a) $(DAEMONS:%=$(BUILD)/obj/%/main.o)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done
	@echo "== tests/unit/check_io_boundary.sh"; CC="$(CC)" ./tests/unit/check_io_boundary.sh $(BUILD)

integration: $(BINS) $(CONFKEYS)
	TRIAD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests/integration $(PYTEST_ARGS)

test: deps
	$(MAKE) unit
	$(MAKE) integration

run: deps
	$(MAKE) all
	./tools/run-demo.sh $(abspath $(BUILD))

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/doc/triad \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/triad/
	install -m 0644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -d $(DESTDIR)$(PREFIX)/lib/triad
	install -m 0755 dist/certbot/deploy-hook $(DESTDIR)$(PREFIX)/lib/triad/certbot-deploy-hook
	install -d $(DESTDIR)$(UNITDIR)
	for u in dist/systemd/*; do \
	    sed 's,/usr/sbin/,$(PREFIX)/sbin/,g' $$u > $(DESTDIR)$(UNITDIR)/$${u##*/} && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done

clean:
	rm -rf build

# `make deb`: the Debian package (debian/) built by dpkg-buildpackage from a copy
# of this tree in build/deb/triad-$(VERSION)/, so the .deb, .buildinfo and
# .changes land in build/deb/ (the .deb also in build/) and the package build
# never touches build/ here.
DEB_DIR := build/deb
deb:
	@./tools/deps.sh deb
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/triad-$(VERSION)
	tar -cf - --exclude=./build --exclude=./.git --exclude=__pycache__ --exclude=.pytest_cache . | tar -xf - -C $(DEB_DIR)/triad-$(VERSION)
	cd $(DEB_DIR)/triad-$(VERSION) && dpkg-buildpackage -us -uc -b
	cp $(DEB_DIR)/triad_$(VERSION)_*.deb build/
	@ls -l build/triad_$(VERSION)_*.deb

# Builds the package, runs lintian on it, installs it into a throw-away root
# and starts the daemons from there (tests/package/test_deb.py). Slow: not part
# of `make test`; .ci/run calls it.
test-deb:
	@./tools/deps.sh deb
	$(MAKE) deb
	TRIAD_DEB_DIR=$(abspath $(DEB_DIR)) $(PYTHON) -m pytest -q tests/package $(PYTEST_ARGS)

# Fuzzing: every tests/fuzz/fuzz_<proto>_*.c is a libFuzzer target linked with
# clang-built, sanitizer-instrumented copies of lib<proto>d.a and libtriad.a
# under build/fuzz/ (the gcc-built archives do not link with clang's runtimes).
# `make fuzz` builds them; `make fuzz-run [FUZZ_SECONDS=30]` runs each in turn
# for that long (tools/fuzz-run.sh), from the seeds in tests/fuzz/corpus/<target>/
# with the dictionaries in tests/fuzz/dict/, growing build/fuzz/corpus/<target>/,
# and prints executions and coverage per target (also build/fuzz/report.txt);
# a target that crashes leaves its reproducer in build/fuzz/crash/<target>/, the
# others still run, and the run fails at the end. `make fuzz-ci` (run by
# .ci/run) runs each target for FUZZ_CI_SECONDS from the committed seeds alone
# (corpus in build/fuzz/ci/) and fails on a crash, a leak or a timeout.
# Never part of `make test`.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_CI_SECONDS ?= 5
FUZZ_ARGS    ?=
FUZZ_DIR     := build/fuzz
FUZZ_CFLAGS  := -std=c17 -Wall -Wextra -Werror -g -O1 -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) \
                -DTRIAD_VERSION='"$(VERSION)"' -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)
fuzz_obj      = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))
# fuzz_<proto>_*: proto http, ftp or smtp links lib<proto>d.a; common links libtriad.a alone.
fuzz_proto    = $(firstword $(subst _, ,$(1)))
fuzz_lib      = $(if $(filter common,$(call fuzz_proto,$(1))),$(FUZZ_DIR)/libtriad.a,$(FUZZ_DIR)/lib$(call fuzz_proto,$(1))d.a)

# Faults and hostile load (tests/integration/soak_faults.py): SIGKILL under SMTP and FTP
# load, fsync/rename failures through an LD_PRELOAD shim (tests/soak/faultshim.c), disk
# full on a tmpfs, 60 s of hostile clients against all three daemons; then `make
# valgrind`. About 3 minutes plus valgrind's 2-3 on a quiet machine (6.5 at a load of
# 16 on 2 cores); not part of `make test` (pytest collects test_*.py only). Prints its
# figures (SOAK lines). Needs root for the tmpfs (else those two tests skip, saying why).
.PHONY: soak
soak: $(BINS)
	@./tools/deps.sh soak
	TRIAD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -s tests/integration/soak_faults.py $(PYTEST_ARGS)
	$(MAKE) valgrind

# `make valgrind`: an integration subset (HTTP, HTTPS, FTP and FTPS, SMTP and
# STARTTLS with AUTH, PAM, the gateway) with every daemon under valgrind memcheck
# (TRIAD_VALGRIND, tests/integration/triad_harness.py): a definite leak or an
# invalid access in a daemon, its PAM helper or a PAM child fails its test. The
# plain build: memcheck and AddressSanitizer do not mix. VALGRIND_TESTS picks
# other tests. First, the openat2 shim must answer as the kernel does
# (tools/valgrind-shim-check.sh). Run by `make soak`.
VALGRIND_TESTS ?= tests/integration/test_http_files.py tests/integration/test_http_tls.py \
                  tests/integration/test_ftp_tls.py tests/integration/test_smtp_tls.py \
                  tests/integration/test_pam.py \
                  tests/integration/test_proxy_http.py::test_rule_forwards_method_target_host_and_forwarding_fields \
                  tests/integration/test_proxy_http.py::test_request_bodies_streamed \
                  tests/integration/test_proxy_http.py::test_response_framings
VALGRIND_SHIM := build/tests/valgrind/openat2_shim.so
VALGRIND_CHECK := build/tests/valgrind/shim_check
.PHONY: valgrind
valgrind:
	@./tools/deps.sh soak
	$(MAKE) SANITIZE= all $(VALGRIND_SHIM) $(VALGRIND_CHECK)
	./tools/valgrind-shim-check.sh $(VALGRIND_CHECK) $(abspath $(VALGRIND_SHIM))
	TRIAD_VALGRIND=1 TRIAD_VALGRIND_PRELOAD=$(abspath $(VALGRIND_SHIM)) TRIAD_BUILD=$(abspath build) \
	    $(PYTHON) -m pytest -q $(VALGRIND_TESTS) $(PYTEST_ARGS)

# Valgrind 3.19 (Debian 12) answers ENOSYS to openat2: see the shim.
$(VALGRIND_SHIM): tests/valgrind/openat2_shim.c
	@mkdir -p $(@D)
	$(CC) -std=c17 -Wall -Wextra -Werror -O2 -g -fPIC -shared -o $@ $< -ldl

$(VALGRIND_CHECK): tests/valgrind/shim_check.c
	@mkdir -p $(@D)
	$(CC) -std=c17 -Wall -Wextra -Werror -O2 -g -o $@ $<

# Static analysis: cppcheck and clang-tidy (.clang-tidy), silent or failing
# (tools/lint.sh). Run by .ci/run, not by `make test`.
.PHONY: lint
lint:
	@./tools/deps.sh lint
	./tools/lint.sh

.PHONY: fuzz fuzz-run fuzz-ci fuzz-deps
fuzz: $(FUZZ_BINS)

# clang alone is not enough: the libFuzzer runtime is libclang-rt-dev's.
fuzz-deps:
	@./tools/deps.sh fuzz

$(FUZZ_DIR)/obj/%.o: %.c | fuzz-deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libtriad.a: $(call fuzz_obj,$(COMMON_SRC))
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/lib%.a: $$(call fuzz_obj,$$(call daemon_src,%))
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $$(call fuzz_lib,%) $(FUZZ_DIR)/libtriad.a | fuzz-deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< \
	    $(call fuzz_lib,$*) $(FUZZ_DIR)/libtriad.a $(LIBS)

fuzz-run: $(FUZZ_BINS)
	./tools/fuzz-run.sh $(FUZZ_SECONDS) $(FUZZ_DIR) $(FUZZ_BINS) -- $(FUZZ_ARGS)

fuzz-ci: $(FUZZ_BINS)
	rm -rf $(FUZZ_DIR)/ci
	./tools/fuzz-run.sh $(FUZZ_CI_SECONDS) $(FUZZ_DIR)/ci $(FUZZ_BINS) -- $(FUZZ_ARGS)

# Dependency files of the builds here (not the package build's tree in build/deb/).
-include $(shell find build -path build/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
