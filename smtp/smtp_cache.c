/* smtp_cache.c - outbound connections kept open between requests
 * Used by: smtp_session.c (asks for an idle connection before it
 * connects; offers its connection after a transaction) and smtp.c
 * (drain). Connections are keyed by the job's next hop as
 * smtp_nexthop() names it ("[relay]:port", or the domain), so a request
 * only ever gets a connection to where its own mail would go. One is
 * kept after a transaction that left the server in a known state when
 * qmgr said more mail for the next hop follows (on demand, as Postfix's
 * smtp_connection_cache_on_demand) or the next hop's host is listed in
 * smtp_connection_cache_destinations; it stays idle for at most
 * smtp_connection_cache_time_limit, then gets QUIT. It is not kept once
 * smtp_connection_reuse_time_limit has passed since it was opened, nor
 * after smtp_connection_reuse_count_limit reuses (0: no limit). The
 * session sends RSET before a kept connection carries mail, to learn that
 * it still works (as Postfix does). A connection the server closes, or
 * speaks on unasked (a 421 before it hangs up), while idle is dropped.
 * As in Postfix, a connection serves every domain of its next hop: SASL
 * credentials that differ per domain behind one next hop are not told
 * apart. Runs in smtp's loop as mail_owner; reads nothing from idle
 * connections but the fact that something arrived. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "conn.h"
#include "domain_list.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "smtp.h"

#define SMTP_CACHE_MAX          1000    /* idle connections at once */

struct smtp_cache_entry {
        char *key;                      /* the next hop */
        struct smtp_link link;
        int closing;                    /* QUIT sent, closing */
        struct smtp_cache_entry *prev, *next;
};

static struct smtp_cache_entry *head;   /* most recently idle first */
static size_t count;
static int draining, on_demand;
static long long idle_ms, reuse_ms;
static unsigned long reuse_count;
static struct domain_list *destinations;

void smtp_cache_init(void)
{
        struct cfg *c = smtp_srv.cfg;
        struct status st;

        idle_ms = cfg_get_time(c, "smtp_connection_cache_time_limit") * 1000;
        reuse_ms = cfg_get_time(c, "smtp_connection_reuse_time_limit") *
                   1000;
        reuse_count = (unsigned long)cfg_get_int(c,
                                "smtp_connection_reuse_count_limit");
        on_demand = cfg_get_bool(c, "smtp_connection_cache_on_demand");
        if (*cfg_get(c, "smtp_connection_cache_destinations") != '\0' &&
            domain_list_open(c, "smtp_connection_cache_destinations",
                             &destinations, &st) < 0)
                log_fatal_config("%s", st.text);
}

static void unlink_entry(struct smtp_cache_entry *e)
{
        if (e->prev != NULL)
                e->prev->next = e->next;
        else
                head = e->next;
        if (e->next != NULL)
                e->next->prev = e->prev;
        e->prev = e->next = NULL;
        count--;
}

/* drop - forget e and close its connection at once */
static void drop(struct smtp_cache_entry *e)
{
        unlink_entry(e);
        conn_free(&e->link.conn);
        smtp_ext_release(&e->link.ext);
        free(e->key);
        free(e);
        if (draining)
                smtp_exit_if_idle();
}

/* quit - the polite end: QUIT (its reply is not waited for, as in
 * Postfix), then close once it is sent */
static void quit(struct smtp_cache_entry *e)
{
        e->closing = 1;
        conn_write(e->link.conn, "QUIT\r\n", 6);
        conn_close(e->link.conn);
        conn_set_timeout(e->link.conn, smtp_srv.quit_ms);
}

static void on_idle_event(struct conn *c, enum conn_event ev,
                          const struct conn_ev_data *d, void *ctx)
{
        struct smtp_cache_entry *e = ctx;

        switch (ev) {
        case CONN_TIMEOUT:
                if (e->closing) {
                        drop(e);
                        break;
                }
                log_debug("closing idle connection to %s[%s]:%d after %lu "
                          "messages", e->link.addr.host, e->link.addr.ip,
                          e->link.addr.port, e->link.uses);
                quit(e);
                break;
        case CONN_DRAINED:
        case CONN_TLS_READY:
        case CONN_CONNECTED:
                break;
        case CONN_LINE:
        case CONN_LINE_TOO_LONG:
        case CONN_DATA:
                /* unasked: the server is going away (a 421 timeout) */
                if (!e->closing)
                        drop(e);
                break;
        case CONN_EOF:
        case CONN_ERROR:
        case CONN_DEADLINE:
        case CONN_CLOSED:
                drop(e);
                break;
        }
}

int smtp_cache_take(const char *nexthop, struct smtp_link *link_r)
{
        for (struct smtp_cache_entry *e = head; e != NULL; e = e->next) {
                if (e->closing || strcasecmp(e->key, nexthop) != 0)
                        continue;
                *link_r = e->link;
                unlink_entry(e);
                free(e->key);
                free(e);
                return 1;
        }
        return 0;
}

int smtp_cache_wanted(const struct smtp_job *job, const struct smtp_link *l)
{
        char host[SMTP_HOST_MAX];
        int port, mx;

        if (draining || count >= SMTP_CACHE_MAX)
                return 0;
        if (reuse_count > 0 && l->uses > reuse_count)
                return 0;
        if (loop_now_ms() - l->opened_ms >= reuse_ms)
                return 0;
        if (on_demand && job->cache)
                return 1;
        if (destinations == NULL ||
            smtp_nexthop_parse(job->nexthop, host, sizeof(host), &port,
                               &mx) < 0)
                return 0;
        return domain_list_match(destinations, host) == 1;
}

void smtp_cache_put(const char *nexthop, struct smtp_link *link)
{
        struct smtp_cache_entry *e = xcalloc(1, sizeof(*e));

        e->key = xstrdup(nexthop);
        e->link = *link;
        memset(link, 0, sizeof(*link));
        e->next = head;
        if (head != NULL)
                head->prev = e;
        head = e;
        count++;
        conn_set_callback(e->link.conn, on_idle_event, e);
        conn_set_timeout(e->link.conn, idle_ms);
}

void smtp_cache_drain(int now)
{
        struct smtp_cache_entry *e = head, *next;

        draining = 1;
        for (; e != NULL; e = next) {
                next = e->next;
                if (now)
                        drop(e);
                else if (!e->closing)
                        quit(e);
        }
        if (now)
                domain_list_free(&destinations);
}

size_t smtp_cache_count(void)
{
        return count;
}
