# Yubin - one plain GNU Makefile.
#   make              build every program into bin/
#   make check        unit tests (cmocka) and protocol tests (pytest)
#   make check SANITIZE=1   the same, built with ASan + UBSan
#                     (check also replays each fuzz target's seed corpus:
#                     tests/fuzz/fuzz_NAME.c built as a plain program and run
#                     over tests/fuzz/corpus/NAME/*; see fuzz-replay)
#   make fuzz         build each tests/fuzz/fuzz_NAME.c with clang
#                     -fsanitize=fuzzer,address,undefined -DFUZZ_LIBFUZZER
#                     into build/fuzz/ and run it for FUZZ_SECONDS (default
#                     60) with tests/fuzz/NAME.dict, seeded from
#                     tests/fuzz/corpus/NAME/ (new inputs go to
#                     build/fuzz/corpus/NAME/, crashes to build/fuzz/)
#   make bench        build tests/bench/*.c into build/obj/bench/ and run
#                     them, then tests/bench/*.py (not part of check;
#                     BENCH_ARGS are passed on to the C ones)
#   make run          a demo instance on loopback ports (see README.md)
#   make install PREFIX=/usr/local DESTDIR=...
# The first step of each checks the Debian packages it needs (mk/deps.sh)
# and, as root, installs the missing ones.

VERSION    = 0.1
PREFIX     ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
SBINDIR    ?= $(PREFIX)/sbin
BINDIR_INST?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR     ?= $(PREFIX)/share/man
DESTDIR    ?=

ifeq ($(SANITIZE),1)
BUILD  ?= build/san
BINDIR ?= build/san/bin
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	   -fno-omit-frame-pointer
OPT    ?= -O1
else
BUILD  ?= build/obj
BINDIR ?= bin
SANFLAGS =
OPT    ?= -O2
endif

DAEMON_DIR ?= $(CURDIR)/$(BINDIR)

PKGS    = libevent libevent_openssl openssl libsasl2 sqlite3 libcares zlib \
	  libcrypt pam libpcre2-8
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC      ?= cc
CFLAGS  ?= $(OPT) -g
WARN     = -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	   -Wstrict-prototypes -Wmissing-prototypes
DEFS     = -D_GNU_SOURCE -DYUBIN_VERSION='"$(VERSION)"' \
	   -DDEF_CONFIG_DIRECTORY='"$(SYSCONFDIR)/yubin"' \
	   -DDEF_DAEMON_DIRECTORY='"$(DAEMON_DIR)"' \
	   -DDEF_COMMAND_DIRECTORY='"$(SBINDIR)"'
ALL_CFLAGS = -std=c17 $(WARN) $(DEFS) -Icommon $(PKG_CFLAGS) $(SANFLAGS) \
	     $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) -Wl,--as-needed $(LDFLAGS)
# libunistring ships no pkg-config file; linked statically, only what
# the IMAP session uses comes in, without a shared library's relocated
# pages in every session process
LIBS     = $(PKG_LIBS) -Wl,-Bstatic -lunistring -Wl,-Bdynamic -lpthread

# Programs: NAME:DIR. Each links DIR/NAME.c, DIR's modules and common/.
PROGRAM_DEFS = yubin:master yubinctl:master authd:auth smtpd:smtp qmgr:smtp \
	       local:smtp smtp:smtp sendmail:smtp postdrop:smtp \
	       imapd:imap imap:imap pop3d:pop3 pop3:pop3
DIRS         = common auth smtp imap pop3 master
prog_name    = $(word 1,$(subst :, ,$(1)))
prog_dir     = $(word 2,$(subst :, ,$(1)))
# only programs whose main file exists are built (daemons land one by one)
PROGRAM_DEFS_HERE = $(foreach p,$(PROGRAM_DEFS),\
	$(if $(wildcard $(call prog_dir,$(p))/$(call prog_name,$(p)).c),$(p)))
PROGRAMS  = $(foreach p,$(PROGRAM_DEFS_HERE),$(call prog_name,$(p)))
MAINS     = $(foreach p,$(PROGRAM_DEFS_HERE),$(call prog_dir,$(p))/$(call prog_name,$(p)).c)
# sendmail-compatible names: the same program, told apart by argv[0]
ALIASES   = $(if $(filter sendmail,$(PROGRAMS)),mailq newaliases)

TEST_SRCS  = $(foreach d,$(DIRS),$(wildcard $(d)/*_test.c))
MODULE_SRCS= $(filter-out $(MAINS) $(TEST_SRCS),$(foreach d,$(DIRS),$(wildcard $(d)/*.c)))
HELPER_SRCS= $(wildcard tests/helpers/*.c)
FUZZ_SRCS  = $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
dir_archive = $(BUILD)/lib$(1).a
LIBCOMMON = $(call dir_archive,common)

UNIT_TESTS = $(patsubst %.c,$(BUILD)/%,$(TEST_SRCS))
HELPERS    = $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(HELPER_SRCS))
FUZZ_NAMES = $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS  = $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRCS))
BENCH_SRCS = $(wildcard tests/bench/*.c)
BENCH_BINS = $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
BENCH_PYS  = $(wildcard tests/bench/*.py)

.PHONY: all deps deps-test check unit proto run install clean fuzz \
	fuzz-replay bench
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build-all

.PHONY: build-all
build-all: $(addprefix $(BINDIR)/,$(PROGRAMS) $(ALIASES)) $(HELPERS)

deps:
	@sh mk/deps.sh build

deps-test:
	@sh mk/deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# one archive per folder with modules; the linker pulls only what it uses
dir_modules = $(filter $(1)/%,$(MODULE_SRCS))
dir_lib = $(if $(call dir_modules,$(1)),$(call dir_archive,$(1)))

define dir_rules
$(call dir_archive,$(1)): $(call obj,$(call dir_modules,$(1)))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach d,$(DIRS),$(if $(call dir_modules,$(d)),$(eval $(call dir_rules,$(d)))))

# programs that also link another folder's modules, NAME:DIR (yubinctl
# works on the user database itself: auth/auth_db.c and friends)
PROGRAM_EXTRA = yubinctl:auth
prog_extra = $(foreach e,$(PROGRAM_EXTRA),$(if $(filter $(1):%,$(e)),\
	$(call dir_lib,$(word 2,$(subst :, ,$(e))))))
$(BUILD)/master/ctl_user.o: ALL_CFLAGS += -Iauth

define prog_rule
$(BINDIR)/$(call prog_name,$(1)): $(call obj,$(call prog_dir,$(1))/$(call prog_name,$(1)).c) \
		$(if $(filter-out common,$(call prog_dir,$(1))),$(call dir_lib,$(call prog_dir,$(1)))) \
		$(call prog_extra,$(call prog_name,$(1))) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach p,$(PROGRAM_DEFS_HERE),$(eval $(call prog_rule,$(p))))

$(addprefix $(BINDIR)/,$(ALIASES)): $(BINDIR)/sendmail
	ln -sf sendmail $@

# unit test DIR/NAME_test.c links with DIR's modules and common/
define test_rule
$(patsubst %.c,$(BUILD)/%,$(1)): $(call obj,$(1)) \
		$(if $(filter-out common,$(patsubst %/,%,$(dir $(1)))),$(call dir_lib,$(patsubst %/,%,$(dir $(1))))) $(LIBCOMMON)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS) -lcmocka
endef
$(foreach t,$(TEST_SRCS),$(eval $(call test_rule,$(t))))

$(BUILD)/tests/%: $(BUILD)/tests/helpers/%.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# fuzz targets: the same source is a libFuzzer target (make fuzz) or, by
# default, a program replaying the files it is given (make check); they
# may use any folder's modules and headers
FUZZ_DEFS    ?=
FUZZ_LDFLAGS ?=
$(BUILD)/tests/fuzz/%.o: ALL_CFLAGS += $(addprefix -I,$(DIRS)) $(FUZZ_DEFS)
FUZZ_LIBS = $(foreach d,$(filter-out common,$(DIRS)),$(call dir_lib,$(d))) \
	    $(LIBCOMMON)
.PRECIOUS: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/tests/bench/%.o
# replay builds get their main() from tests/fuzz/replay.c
FUZZ_MAIN = $(if $(FUZZ_DEFS),,$(BUILD)/tests/fuzz/replay.o)
$(BUILD)/tests/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_MAIN) $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(FUZZ_LDFLAGS) -o $@ $^ $(LIBS)

# make check: unit tests, the fuzz seed corpora, then the protocol tests
# against a real instance
check: deps deps-test
	@$(MAKE) --no-print-directory build-all $(UNIT_TESTS) $(FUZZ_BINS)
	@$(MAKE) --no-print-directory unit fuzz-replay proto

unit: $(UNIT_TESTS)
	@failed=0; for t in $(UNIT_TESTS); do \
		echo "== $$t"; $$t || failed=1; \
	done; exit $$failed

# each replay is bounded: the corpus is small, a hang is a failure
FUZZ_REPLAY_TIMEOUT ?= 300
fuzz-replay: $(FUZZ_BINS)
	@failed=0; for n in $(FUZZ_NAMES); do \
		echo "== fuzz_$$n"; \
		set -- tests/fuzz/corpus/$$n/*; [ -e "$$1" ] || set --; \
		timeout $(FUZZ_REPLAY_TIMEOUT) $(BUILD)/tests/fuzz/fuzz_$$n "$$@" \
			|| failed=1; \
	done; exit $$failed

# make fuzz: libFuzzer builds in their own tree, then each target in turn
FUZZ_SECONDS ?= 60
FUZZ_TREE     = build/fuzz
fuzz: deps deps-test
	@sh mk/deps.sh fuzz
	@$(MAKE) --no-print-directory CC=clang BUILD=$(FUZZ_TREE) \
		BINDIR=$(FUZZ_TREE)/bin OPT=-O1 \
		SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
		FUZZ_DEFS=-DFUZZ_LIBFUZZER FUZZ_LDFLAGS=-fsanitize=fuzzer \
		$(patsubst tests/fuzz/%.c,$(FUZZ_TREE)/tests/fuzz/%,$(FUZZ_SRCS))
	@failed=0; for n in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_TREE)/corpus/$$n; \
		dict=; [ -f tests/fuzz/$$n.dict ] && dict=-dict=tests/fuzz/$$n.dict; \
		echo "== fuzz_$$n: $(FUZZ_SECONDS) s"; \
		$(FUZZ_TREE)/tests/fuzz/fuzz_$$n $$dict \
			-max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(FUZZ_TREE)/fuzz_$$n- \
			$(FUZZ_TREE)/corpus/$$n tests/fuzz/corpus/$$n || failed=1; \
	done; exit $$failed

# make bench: benchmarks, each a program over the common/ library
BENCH_ARGS ?=
$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

bench: deps
	@sh mk/deps.sh bench
	@sh mk/mail-owner.sh
	@$(MAKE) --no-print-directory build-all $(BENCH_BINS)
	@for b in $(BENCH_BINS); do \
		echo "== $$b"; YUBIN_BIN=$(CURDIR)/$(BINDIR) $$b $(BENCH_ARGS) \
			|| exit 1; \
	done
	@for b in $(BENCH_PYS); do \
		echo "== $$b"; YUBIN_BIN=$(CURDIR)/$(BINDIR) \
			YUBIN_HELPERS=$(CURDIR)/$(BUILD)/tests \
			/usr/bin/python3 $$b || exit 1; \
	done

PYTEST ?= /usr/bin/python3 -m pytest
PYTEST_ARGS ?= -q
proto:
	@sh mk/mail-owner.sh
	YUBIN_BIN=$(CURDIR)/$(BINDIR) YUBIN_HELPERS=$(CURDIR)/$(BUILD)/tests \
		$(PYTEST) $(PYTEST_ARGS) tests/proto

run: all
	@sh mk/deps.sh run
	@sh mk/run.sh $(CURDIR)/$(BINDIR)

install:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory BUILD=build/inst BINDIR=build/inst/bin \
		DAEMON_DIR=$(LIBEXECDIR)/yubin build-all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR_INST) \
		$(DESTDIR)$(LIBEXECDIR)/yubin $(DESTDIR)$(SYSCONFDIR)/yubin
	for p in yubin yubinctl sendmail; do \
		[ -f build/inst/bin/$$p ] && install -m 755 build/inst/bin/$$p $(DESTDIR)$(SBINDIR)/ || true; \
	done
	for p in mailq newaliases; do \
		[ -e build/inst/bin/$$p ] && ln -sf $(SBINDIR)/sendmail $(DESTDIR)$(BINDIR_INST)/$$p || true; \
	done
	for p in $(filter-out yubin yubinctl sendmail postdrop,$(PROGRAMS)); do \
		install -m 755 build/inst/bin/$$p $(DESTDIR)$(LIBEXECDIR)/yubin/; \
	done
	# postdrop: setgid postdrop, so any local user can drop mail into
	# the queue's maildrop/ (mail_owner:postdrop 1730); see common/maildrop.h
	if [ -f build/inst/bin/postdrop ]; then \
		getent group postdrop >/dev/null || \
			{ [ "$$(id -u)" != 0 ] || groupadd --system postdrop; }; \
		install -m 755 build/inst/bin/postdrop $(DESTDIR)$(SBINDIR)/; \
		if [ "$$(id -u)" = 0 ]; then \
			chgrp postdrop $(DESTDIR)$(SBINDIR)/postdrop && \
			chmod 2755 $(DESTDIR)$(SBINDIR)/postdrop; \
		fi; \
	fi
	for f in conf/main.cf conf/master.cf conf/aliases; do \
		[ -f $(DESTDIR)$(SYSCONFDIR)/yubin/$$(basename $$f) ] || \
			install -m 644 $$f $(DESTDIR)$(SYSCONFDIR)/yubin/; \
	done
	install -d $(DESTDIR)/etc/pam.d
	[ -f $(DESTDIR)/etc/pam.d/yubin ] || \
		install -m 644 conf/pam.d/yubin $(DESTDIR)/etc/pam.d/yubin
	if [ -d conf/man ]; then for f in conf/man/*.[1-8]; do \
		s=$${f##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 644 $$f $(DESTDIR)$(MANDIR)/man$$s/; done; fi

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
