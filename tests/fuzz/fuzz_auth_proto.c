/* fuzz_auth_proto.c - fuzz authd's request parser
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c
 * replaying corpus/auth_proto/). Each input is a stream of request lines,
 * parsed whole and again in slices of every size from 1 to 7 bytes: the
 * results (request or error, command, id) must be the same every way, the
 * parser must take input on every call that is not "need more", never
 * take more than it was given, and never hand out a field over its limit.
 * A broken promise aborts, so the fuzzer reports it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_proto.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz_auth_proto: broken promise: %s\n",
                        what);
                abort();
        }
}

static void check_len(const char *s, size_t max, const char *what)
{
        check(s == NULL || strlen(s) <= max, what);
}

/* run - parse in slices of step bytes (0: whole); the results as text */
static char *run(const char *in, size_t len, size_t step)
{
        struct auth_proto_parser p;
        struct auth_proto_req q;
        struct status st;
        struct buf out;
        size_t off = 0;

        buf_init(&out, 0);
        auth_proto_parser_init(&p);
        while (off < len) {
                size_t avail = step == 0 || len - off < step ? len - off
                                                             : step;
                size_t used = 0;
                int ret = auth_proto_parse(&p, in + off, avail, &used, &q,
                                           &st);

                check(used <= avail, "took more than given");
                if (ret == AUTH_PROTO_MORE) {
                        check(used == avail, "need more, yet input left");
                } else {
                        check(used > 0, "no progress");
                        buf_printf(&out, "%d:%d:%s|", ret, (int)q.cmd, q.id);
                }
                if (ret == AUTH_PROTO_REQUEST) {
                        check_len(q.user, AUTHC_USER_MAX, "user limit");
                        check_len(q.password, AUTHC_PASSWORD_MAX,
                                  "password limit");
                        check_len(q.service, AUTHC_SERVICE_MAX,
                                  "service limit");
                        check_len(q.mech, AUTHC_MECH_MAX, "mech limit");
                        check_len(q.token, AUTHC_TOKEN_MAX, "token limit");
                        check_len(q.data, AUTHC_SASL_MAX, "data limit");
                        check_len(q.ip, AUTH_PROTO_IP_SIZE - 1, "ip limit");
                        check(q.cmd == AUTH_PROTO_VERSION || q.id[0] != '\0',
                              "request without an id");
                }
                off += used;
        }
        auth_proto_parser_release(&p);
        return buf_steal(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *whole = run((const char *)data, size, 0);

        for (size_t step = 1; step <= 7; step++) {
                char *sliced = run((const char *)data, size, step);

                check(strcmp(whole, sliced) == 0,
                      "slices give other results");
                free(sliced);
        }
        free(whole);
        return 0;
}
