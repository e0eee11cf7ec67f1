/* qmgr_dest_test.c - destination windows move with feedback between 1
 * and the limit; destinations with room take turns, so one that is full
 * holds up no other; on-demand caching follows back-to-back requests */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"
#include "qmgr.h"

struct qmgr qmgr;

#define REQS    64

static struct qmgr_sreq reqs[REQS];

/* fill - a destination called name with n waiting requests */
static struct qmgr_dest *fill(const char *name, size_t n, size_t first)
{
        struct qmgr_dest *d = qmgr_dest_get(name);

        for (size_t i = first; i < first + n; i++) {
                memset(&reqs[i], 0, sizeof(reqs[i]));
                qmgr_dest_enqueue(d, &reqs[i]);
        }
        return d;
}

/* drain_all - start and end what is left, so the table empties */
static void drain_all(double now)
{
        struct qmgr_sreq *req;

        while ((req = qmgr_dest_next(now)) != NULL)
                qmgr_dest_done(req->dest, 0, now);
}

static void test_window(void **state)
{
        static const struct {
                const char *name;
                double initial, max;
                const char *feedback;   /* + good, - bad, 0 neither */
                double want;
        } cases[] = {
                { "starts at the initial concurrency", 5, 20, "", 5 },
                { "initial above the limit is the limit", 30, 20, "", 20 },
                { "one good delivery widens a window of 1", 1, 20, "+", 2 },
                { "a window of 2 needs two", 1, 20, "++", 2 },
                { "then a third", 1, 20, "+++", 3 },
                { "grows to the limit, not past it", 1, 3, "++++++++++",
                  3 },
                { "a window of 5 shrinks after five failures", 5, 20,
                  "-----", 4 },
                { "four failures are not enough", 5, 20, "----", 5 },
                { "never below 1", 1, 20, "----------", 1 },
                { "neither good nor bad changes nothing", 5, 20, "00000",
                  5 },
                { "a failure cancels a success", 2, 20, "+-+-+-", 2 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct qmgr_dest *d;

                qmgr_dest_limits(cases[i].initial, cases[i].max);
                d = fill("example.org", REQS, 0);
                for (const char *f = cases[i].feedback; *f; f++) {
                        struct qmgr_sreq *req = qmgr_dest_next(100);

                        if (req == NULL || req->dest != d)
                                fail_msg("case %s: got no request to start",
                                         cases[i].name);
                        qmgr_dest_done(d, *f == '+' ? 1 : *f == '-' ? -1 :
                                       0, 100);
                }
                if (d->window != cases[i].want)
                        fail_msg("case %s: got window %g, want %g",
                                 cases[i].name, d->window, cases[i].want);
                drain_all(100);
                if (qmgr_dest_count() != 0)
                        fail_msg("case %s: got %zu destinations left, want "
                                 "0", cases[i].name, qmgr_dest_count());
        }
}

/* starts - the destinations of the requests started now, one letter each
 * (the first of its name), "." when none may start */
static void starts(char *out, size_t n, double now)
{
        for (size_t i = 0; i < n; i++) {
                struct qmgr_sreq *req = qmgr_dest_next(now);

                out[i] = req != NULL ? req->dest->name[0] : '.';
        }
        out[n] = '\0';
}

static void test_turns(void **state)
{
        char got[16];
        struct qmgr_dest *a, *b, *c;

        /* a is full after one; b and c go on meanwhile, taking turns */
        qmgr_dest_limits(1, 1);
        a = fill("a.example", 6, 0);
        b = fill("b.example", 1, 6);
        starts(got, 3, 0);
        if (strcmp(got, "ab.") != 0)
                fail_msg("case full destination: got %s, want ab.", got);
        c = fill("c.example", 2, 7);
        starts(got, 2, 0);
        if (strcmp(got, "c.") != 0)
                fail_msg("case late arrival: got %s, want c.", got);
        /* an end makes room for the next of the same destination */
        qmgr_dest_done(a, 0, 0);
        qmgr_dest_done(c, 0, 0);
        starts(got, 3, 0);
        if (strcmp(got, "ac.") != 0)
                fail_msg("case room again: got %s, want ac.", got);
        qmgr_dest_done(b, 0, 0);        /* b is done: forgotten */
        if (qmgr_dest_count() != 2)
                fail_msg("case forgotten: got %zu destinations, want 2",
                         qmgr_dest_count());
        qmgr_dest_done(a, 0, 0);
        qmgr_dest_done(c, 0, 0);
        drain_all(0);

        /* wide windows: strict turns */
        qmgr_dest_limits(10, 10);
        fill("a.example", 4, 0);
        fill("b.example", 4, 4);
        fill("c.example", 2, 8);
        starts(got, 11, 0);
        if (strcmp(got, "abcabcabab.") != 0)
                fail_msg("case turns: got %s, want abcabcabab.", got);
        for (size_t i = 0; i < 10; i++)
                qmgr_dest_done(reqs[i].dest, 0, 0);
        if (qmgr_dest_count() != 0)
                fail_msg("case all done: got %zu destinations, want 0",
                         qmgr_dest_count());
}

static void test_cache_on_demand(void **state)
{
        static const struct {
                const char *name;
                double start, end;      /* of one request */
                int want;
        } steps[] = {
                { "a first request: no caching", 10, 10.5, 0 },
                { "back to back: caching", 11, 11.2, 1 },
                { "still back to back", 12.1, 12.2, 1 },
                { "a pause: no more", 20, 20.1, 0 },
                { "back to back again", 20.5, 20.6, 1 },
        };
        struct qmgr_dest *d;

        qmgr_dest_limits(1, 1);
        d = fill("a.example", 6, 0);
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                struct qmgr_sreq *req = qmgr_dest_next(steps[i].start);

                if (req == NULL)
                        fail_msg("case %s: got no request", steps[i].name);
                if (req->cache != steps[i].want)
                        fail_msg("case %s: got cache %d, want %d",
                                 steps[i].name, req->cache, steps[i].want);
                qmgr_dest_done(d, 1, steps[i].end);
        }
        drain_all(100);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_window),
                cmocka_unit_test(test_turns),
                cmocka_unit_test(test_cache_on_demand),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
