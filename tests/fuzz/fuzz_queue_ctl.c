/* fuzz_queue_ctl.c - fuzz the control datagrams qmgr reads on its socket
 * (yubinctl queue requests) and the answers yubinctl reads back
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c,
 * over corpus/queue_ctl/). Checks, besides "no crash": a request or an
 * answer that parses is formatted again and parses to the same thing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "queue_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const char *d, size_t size)
{
        struct queue_ctl_req req, again;
        char out[QUEUE_CTL_DATAGRAM_MAX];
        const char *error;
        size_t n;

        if (queue_ctl_req_parse(d, size, &req, &error) < 0)
                return;
        n = queue_ctl_req_format(&req, out, sizeof(out));
        if (n == 0 || queue_ctl_req_parse(out, n, &again, &error) < 0 ||
            again.seq != req.seq || again.cmd != req.cmd ||
            strcmp(again.arg, req.arg) != 0)
                abort();
}

static void check_reply(const char *d, size_t size)
{
        struct queue_ctl_reply rep, again;
        char out[QUEUE_CTL_DATAGRAM_MAX];
        size_t n;

        if (queue_ctl_reply_parse(d, size, &rep) < 0)
                return;
        n = queue_ctl_reply_format(&rep, out, sizeof(out));
        if (queue_ctl_reply_parse(out, n, &again) < 0 ||
            again.seq != rep.seq || again.result != rep.result ||
            again.count != rep.count ||
            (rep.result != QUEUE_CTL_OK &&
             strcmp(again.st.text, rep.st.text) != 0) ||
            (rep.result == QUEUE_CTL_ERROR &&
             strcmp(again.st.code, rep.st.code) != 0))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* an exact-size copy, so a read past the end is caught */
        char *d = xmalloc(size ? size : 1);

        memcpy(d, data, size);
        (void)queue_ctl_is_request(d, size);
        check_request(d, size);
        check_reply(d, size);
        free(d);
        return 0;
}
