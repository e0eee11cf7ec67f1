/* qmgr_dest.c - outbound destinations: who goes next, and how many at once
 * Used by: qmgr_smtp.c. Requests to the smtp client are grouped by next
 * hop, as the smtp client will find it: the transport_maps next hop of
 * the recipient domain (or a parent ".domain"), else relayhost, else the
 * domain itself -- so all mail through one relayhost is one destination,
 * as in Postfix. Each destination keeps its waiting requests in arrival
 * order and may have at most "window" of them out at once. The window
 * starts at smtp_initial_destination_concurrency and moves with
 * feedback, as Postfix's 1/concurrency feedback does: a request that
 * reached a server adds 1/window (so about one more slot per window's
 * worth of good deliveries), one that reached no server takes 1/window
 * off, never below 1 or above smtp_destination_concurrency_limit.
 * Destinations whose window has room take turns (round robin), so a long
 * queue for one slow destination never holds up mail for another.
 * On-demand connection caching (smtp_connection_cache_on_demand) is
 * asked for, as Postfix's queue manager does, once a destination's
 * requests go out back to back (one starts within a second of another's
 * end), and dropped again when they neither overlap nor follow each other.
 * A destination is forgotten when it has nothing waiting or out. Runs in
 * qmgr's loop as mail_owner; reads administrator tables only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "log.h"
#include "map.h"
#include "mem.h"
#include "qmgr.h"

#define QMGR_DEST_BUCKETS       1024
#define QMGR_DEST_BACK_TO_BACK  1.0     /* seconds */
#define QMGR_DEST_EPSILON       1e-9    /* n steps of 1/n make 1 */

static struct qmgr_dest *table[QMGR_DEST_BUCKETS];
static struct qmgr_dest *ring;          /* ready: waiting work and room */
static struct maps *transport;
static const char *relayhost = "";
static double initial_window = 5, max_window = 20;
static size_t ndests;

void qmgr_dest_init(void)
{
        struct status st;
        const char *maps = cfg_get(qmgr.cfg, "transport_maps");

        relayhost = cfg_get(qmgr.cfg, "relayhost");
        max_window = (double)cfg_get_int(qmgr.cfg,
                                 "smtp_destination_concurrency_limit");
        initial_window = (double)cfg_get_int(qmgr.cfg,
                                 "smtp_initial_destination_concurrency");
        if (initial_window > max_window)
                initial_window = max_window;
        /* a table that does not open only blurs the grouping: the smtp
         * client, which opens it too, reports and defers */
        if (*maps != '\0' &&
            maps_open(maps, "transport_maps", 0, &transport, &st) < 0)
                log_warn("%s", st.text);
}

void qmgr_dest_limits(double initial, double max)
{
        initial_window = initial < max ? initial : max;
        max_window = max;
}

/* hash - FNV-1a over the lowercase name */
static size_t hash(const char *name)
{
        unsigned long h = 2166136261u;

        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
                unsigned char c = *p >= 'A' && *p <= 'Z' ? *p + 32 : *p;

                h = (h ^ c) * 16777619u;
        }
        return (size_t)(h % QMGR_DEST_BUCKETS);
}

/* transport_hop - the next hop transport_maps names for domain (or a
 * parent), "" for "keep the domain"; NULL when the table has no entry or
 * could not tell */
static const char *transport_hop(const char *domain)
{
        const char *d = domain, *value = NULL, *colon;
        struct status st;
        int r;

        if (transport == NULL)
                return NULL;
        r = maps_lookup(transport, domain, &value, &st);
        while (r == 0 && (d = strchr(d + 1, '.')) != NULL)
                r = maps_lookup(transport, d, &value, &st);
        if (r <= 0)
                return NULL;
        /* "transport:nexthop"; a transport alone keeps the domain */
        colon = strchr(value, ':');
        return colon != NULL ? colon + 1 : "";
}

void qmgr_dest_name(const char *domain, char *out, size_t size)
{
        const char *hop = transport_hop(domain);

        if (hop == NULL || *hop == '\0')
                hop = *relayhost != '\0' ? relayhost : domain;
        snprintf(out, size, "%s", hop);
        for (char *p = out; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p += 32;
}

static int can_start(const struct qmgr_dest *d)
{
        return d->head != NULL && (double)d->busy + 1 <= d->window;
}

static void ring_add(struct qmgr_dest *d)
{
        if (d->in_ring)
                return;
        d->in_ring = 1;
        if (ring == NULL) {
                d->ring_next = d->ring_prev = d;
                ring = d;
                return;
        }
        /* at the tail: just before the head */
        d->ring_next = ring;
        d->ring_prev = ring->ring_prev;
        ring->ring_prev->ring_next = d;
        ring->ring_prev = d;
}

static void ring_del(struct qmgr_dest *d)
{
        if (!d->in_ring)
                return;
        d->in_ring = 0;
        if (d->ring_next == d) {
                ring = NULL;
        } else {
                d->ring_prev->ring_next = d->ring_next;
                d->ring_next->ring_prev = d->ring_prev;
                if (ring == d)
                        ring = d->ring_next;
        }
        d->ring_next = d->ring_prev = NULL;
}

struct qmgr_dest *qmgr_dest_get(const char *name)
{
        size_t h = hash(name);
        struct qmgr_dest *d;

        for (d = table[h]; d != NULL; d = d->hash_next)
                if (strcasecmp(d->name, name) == 0)
                        return d;
        d = xcalloc(1, sizeof(*d));
        d->name = xstrdup(name);
        d->window = initial_window;
        d->hash_next = table[h];
        table[h] = d;
        ndests++;
        return d;
}

/* forget - the destination has nothing waiting or out */
static void forget(struct qmgr_dest *d)
{
        struct qmgr_dest **pp = &table[hash(d->name)];

        ring_del(d);
        while (*pp != d)
                pp = &(*pp)->hash_next;
        *pp = d->hash_next;
        free(d->name);
        free(d);
        ndests--;
}

void qmgr_dest_enqueue(struct qmgr_dest *d, struct qmgr_sreq *req)
{
        req->dest = d;
        req->next = NULL;
        if (d->tail != NULL)
                d->tail->next = req;
        else
                d->head = req;
        d->tail = req;
        d->waiting++;
        if (can_start(d))
                ring_add(d);
}

struct qmgr_sreq *qmgr_dest_next(double now)
{
        struct qmgr_dest *d = ring;
        struct qmgr_sreq *req;
        int back_to_back;

        if (d == NULL)
                return NULL;
        req = d->head;
        d->head = req->next;
        if (d->head == NULL)
                d->tail = NULL;
        req->next = NULL;
        d->waiting--;
        back_to_back = d->last_done > 0 &&
                       now - d->last_done <= QMGR_DEST_BACK_TO_BACK;
        if (!d->cache && back_to_back)
                d->cache = 1;
        else if (d->cache && d->busy == 0 && !back_to_back)
                d->cache = 0;
        req->cache = d->cache;
        d->busy++;
        /* its turn is over: the next destination goes first */
        ring = d->ring_next;
        if (!can_start(d))
                ring_del(d);
        return req;
}

void qmgr_dest_done(struct qmgr_dest *d, int feedback, double now)
{
        d->busy--;
        d->last_done = now;
        if (feedback > 0 && d->window < max_window) {
                d->credit += 1 / d->window;
                if (d->credit >= 1 - QMGR_DEST_EPSILON) {
                        d->window += 1;
                        d->credit = 0;
                }
        } else if (feedback < 0 && d->window > 1) {
                d->credit -= 1 / d->window;
                if (d->credit <= -1 + QMGR_DEST_EPSILON) {
                        d->window -= 1;
                        d->credit = 0;
                }
        }
        if (d->window > max_window)
                d->window = max_window;
        if (d->window < 1)
                d->window = 1;
        if (d->busy == 0 && d->head == NULL)
                forget(d);
        else if (can_start(d))
                ring_add(d);
}

size_t qmgr_dest_count(void)
{
        return ndests;
}
