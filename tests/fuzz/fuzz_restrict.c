/* fuzz_restrict.c - fuzz the restriction language's parsers: the RFC 5321
 * path parser followed by Postfix-style address resolution (percent hack,
 * bang paths, quoted local parts, source routes, address literals), and
 * the restriction-list parser (names, arguments, { } groups, classes)
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c,
 * over corpus/restrict/). The first input byte chooses: even, an address
 * (its second bit: SMTPUTF8); odd, a restriction list as an access table
 * would answer it (tables refused, nothing opened). The rest is the text,
 * cut at its first NUL. Besides "no crash, no sanitizer report", checks
 * the invariants: resolution ends, always gives a user@domain, and gives
 * the same answer for its own output when that is local; a parsed list
 * holds only known restrictions, each with the argument it needs. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "domain_list.h"
#include "loop.h"
#include "mem.h"
#include "smtpd.h"
#include "smtpd_check_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smtpd_server srv;

static void setup(void)
{
        static const char text[] =
                "myhostname = mail.example.com\n"
                "mydestination = mail.example.com, localhost\n"
                "virtual_mailbox_domains = example.com\n"
                "relay_domains = relayed.example\n"
                "inet_interfaces = loopback-only\n"
                "smtpd_peername_lookup = no\n"
                "dns_servers = 127.0.0.1:1\n"
                "smtpd_restriction_classes = c1, c2\n"
                "c1 = permit_mynetworks, c2\n"
                "c2 = reject\n";
        struct status st;

        if (srv.checks != NULL)
                return;
        loop_init();
        srv.cfg = cfg_new("/nonexistent");
        cfg_parse_main(srv.cfg, "main.cf", text, strlen(text));
        if (domain_list_open(srv.cfg, "mydestination", &srv.mydestination,
                             &st) < 0 ||
            domain_list_open(srv.cfg, "virtual_mailbox_domains",
                             &srv.virtual_mailbox_domains, &st) < 0 ||
            domain_list_open(srv.cfg, "relay_domains", &srv.relay_domains,
                             &st) < 0 ||
            smtpd_checks_load(&srv, &srv.checks, &st) < 0) {
                fprintf(stderr, "setup: %s\n", st.text);
                abort();
        }
}

static void address(const char *text, int flags)
{
        struct status st;
        size_t used;
        char *addr, *resolved, *again;
        int r, r2;

        if (addr_parse_path(text, flags | ADDR_NULL_OK, &addr, &used,
                            &st) < 0)
                return;
        r = smtpd_route_resolve(srv.checks->route, addr, &resolved);
        if (!(r & ROUTE_FAIL) && strchr(resolved, '@') == NULL) {
                fprintf(stderr, "\"%s\" resolved to \"%s\"\n", addr,
                        resolved);
                abort();
        }
        /* a local result is final: resolving it again changes nothing */
        if ((r & ROUTE_LOCAL) && !(r & (ROUTE_ROUTED | ROUTE_FAIL))) {
                r2 = smtpd_route_resolve(srv.checks->route, resolved, &again);
                if (!(r2 & ROUTE_LOCAL) || strcmp(again, resolved) != 0) {
                        fprintf(stderr, "\"%s\" -> \"%s\" -> \"%s\"\n", addr,
                                resolved, again);
                        abort();
                }
                free(again);
        }
        free(resolved);
        free(addr);
}

static void list(const char *text)
{
        struct smtpd_check_list l;
        struct status st;

        memset(&l, 0, sizeof(l));
        if (smtpd_check_parse(srv.checks, text, "fuzz", NULL, 1, &l,
                              &st) == 0) {
                for (size_t i = 0; i < l.count; i++) {
                        const struct smtpd_check_item *it = &l.items[i];

                        if ((it->def == NULL && it->cls == NULL) ||
                            it->table != NULL || it->policy != NULL ||
                            (it->def != NULL && (it->def->arg == CHK_ARG_NONE) !=
                             (it->arg == NULL)))
                                abort();
                }
        }
        smtpd_check_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text;

        if (size == 0)
                return 0;
        setup();
        text = xstrndup((const char *)data + 1, size - 1);
        if (data[0] & 1)
                list(text);
        else
                address(text, (data[0] & 2) ? ADDR_UTF8 : 0);
        free(text);
        return 0;
}
