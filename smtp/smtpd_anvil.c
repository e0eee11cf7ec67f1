/* smtpd_anvil.c - per-client counters in a small hash table
 * Used by: smtpd sessions at connect, disconnect and AUTH. Entries are
 * pruned lazily: each connect looks at a few old entries of its bucket. */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "smtpd_anvil.h"

#define ANVIL_BUCKETS 1024

struct entry {
        struct entry *next;
        long long count;                /* open connections */
        long long window_start;
        long long rate;                 /* connections in the window */
        long long events_start[SMTPD_ANVIL_KINDS];
        long long events[SMTPD_ANVIL_KINDS];
        char ip[];
};

struct smtpd_anvil {
        long long window_ms;
        struct entry *buckets[ANVIL_BUCKETS];
};

static unsigned hash(const char *s)
{
        unsigned h = 5381;

        while (*s != '\0')
                h = h * 33 + (unsigned char)*s++;
        return h % ANVIL_BUCKETS;
}

struct smtpd_anvil *smtpd_anvil_new(long long window_ms)
{
        struct smtpd_anvil *a = xcalloc(1, sizeof(*a));

        a->window_ms = window_ms > 0 ? window_ms : 60000;
        return a;
}

void smtpd_anvil_free(struct smtpd_anvil **ap)
{
        if (ap == NULL || *ap == NULL)
                return;
        for (int i = 0; i < ANVIL_BUCKETS; i++) {
                struct entry *e = (*ap)->buckets[i];

                while (e != NULL) {
                        struct entry *next = e->next;

                        free(e);
                        e = next;
                }
        }
        free(*ap);
        *ap = NULL;
}

/* idle - no window of e is still open at now */
static int idle(const struct smtpd_anvil *a, const struct entry *e,
                long long now)
{
        if (now - e->window_start <= a->window_ms)
                return 0;
        for (int k = 0; k < SMTPD_ANVIL_KINDS; k++)
                if (e->events[k] > 0 && now - e->events_start[k] <= a->window_ms)
                        return 0;
        return 1;
}

/* lookup - the entry for ip (made when create); drops idle old entries
 * of the bucket on the way */
static struct entry *lookup(struct smtpd_anvil *a, const char *ip,
                            long long now, int create)
{
        struct entry **pp = &a->buckets[hash(ip)];

        while (*pp != NULL) {
                struct entry *e = *pp;

                if (strcmp(e->ip, ip) == 0)
                        return e;
                if (e->count == 0 && idle(a, e, now)) {
                        *pp = e->next;
                        free(e);
                        continue;
                }
                pp = &e->next;
        }
        if (!create)
                return NULL;
        struct entry *e = xcalloc(1, sizeof(*e) + strlen(ip) + 1);
        strcpy(e->ip, ip);
        e->window_start = now;
        *pp = e;
        return e;
}

void smtpd_anvil_connect(struct smtpd_anvil *a, const char *ip,
                         long long now_ms, long long *count_r,
                         long long *rate_r)
{
        struct entry *e = lookup(a, ip, now_ms, 1);

        if (now_ms - e->window_start >= a->window_ms) {
                e->window_start = now_ms;
                e->rate = 0;
        }
        e->count++;
        e->rate++;
        *count_r = e->count;
        *rate_r = e->rate;
}

void smtpd_anvil_disconnect(struct smtpd_anvil *a, const char *ip)
{
        struct entry *e = lookup(a, ip, 0, 0);

        if (e != NULL && e->count > 0)
                e->count--;
}

long long smtpd_anvil_event(struct smtpd_anvil *a, const char *ip,
                            enum smtpd_anvil_kind kind, long long now_ms)
{
        struct entry *e = lookup(a, ip, now_ms, 1);

        if (e->events[kind] == 0 ||
            now_ms - e->events_start[kind] >= a->window_ms) {
                e->events_start[kind] = now_ms;
                e->events[kind] = 0;
        }
        return ++e->events[kind];
}
