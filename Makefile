# triad build. `make` builds the three daemons and build/libtriad.a they link.
# Every daemon directory is split into lib<daemon>.a (everything but main.c) so
# unit tests under tests/unit/<daemon>/ can link the pure parsers directly.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
SANITIZE ?=
PYTHON   ?= /usr/bin/python3

PKGS      := libevent_core libevent_extra libevent_openssl libevent_pthreads openssl libmagic inih pam
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

CC      ?= gcc
CFLAGS  := -std=c17 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) \
           -DTRIAD_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS)
LDFLAGS := $(EXTRA_LDFLAGS)
LIBS    := $(PKG_LIBS) -lpthread

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
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test unit integration run install clean deps check-deps
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

deps:
	@./tools/deps.sh

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: $(BINS)
	TRIAD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests/integration $(PYTEST_ARGS)

test: deps
	$(MAKE) unit
	$(MAKE) integration

run: deps
	$(MAKE) all
	./tools/run-demo.sh $(abspath $(BUILD))

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/doc/triad
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/triad/

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
