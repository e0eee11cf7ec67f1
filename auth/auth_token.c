/* auth_token.c - single-use login tokens
 * Used by: authd's front end. Tokens are keys of an auth_map whose values
 * hold a copy of the user record and the expiry (the loop's monotonic
 * milliseconds). Redeeming removes the entry whatever the outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth_map.h"
#include "auth_token.h"
#include "auth_user.h"
#include "mem.h"

struct token_entry {
        struct auth_user *user;
        long long expires;
};

struct auth_tokens {
        struct auth_map *map;
};

struct auth_tokens *auth_tokens_new(void)
{
        struct auth_tokens *t = xcalloc(1, sizeof(*t));

        t->map = auth_map_new();
        return t;
}

static void entry_free(struct token_entry *e)
{
        auth_user_free(&e->user);
        free(e);
}

static int free_one(const char *key, void *value, void *ctx)
{
        entry_free(value);
        return 1;
}

void auth_tokens_free(struct auth_tokens **tp)
{
        struct auth_tokens *t;

        if (tp == NULL || *tp == NULL)
                return;
        t = *tp;
        auth_map_each(t->map, free_one, NULL);
        auth_map_free(&t->map);
        free(t);
        *tp = NULL;
}

/* user_copy - a deep copy of u */
static struct auth_user *user_copy(const struct auth_user *u)
{
        struct auth_user *c = xcalloc(1, sizeof(*c));

        *c = *u;
        c->name = xstrdup(u->name);
        c->home = xstrdup(u->home != NULL ? u->home : "");
        c->mail = xstrdup(u->mail != NULL ? u->mail : "");
        return c;
}

int auth_tokens_issue(struct auth_tokens *t, const struct auth_user *u,
                      long long now_ms, long long ttl_ms, char *token_r,
                      struct status *st)
{
        unsigned char raw[AUTH_TOKEN_BYTES];
        struct token_entry *e;

        token_r[0] = '\0';
        if (auth_map_count(t->map) >= AUTH_TOKEN_MAX &&
            auth_tokens_purge(t, now_ms) >= AUTH_TOKEN_MAX)
                return status_set(st, STATUS_LOCAL_IO,
                                  "%d login tokens outstanding",
                                  AUTH_TOKEN_MAX);
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
                return status_set(st, STATUS_LOCAL_IO, "getrandom: %m");
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(token_r + 2 * i, 3, "%02x", raw[i]);
        explicit_bzero(raw, sizeof(raw));
        e = xcalloc(1, sizeof(*e));
        e->user = user_copy(u);
        e->expires = now_ms + ttl_ms;
        e = auth_map_put(t->map, token_r, e);
        if (e != NULL)
                entry_free(e);  /* 2^-128: replaced, not shared */
        return 0;
}

int auth_tokens_redeem(struct auth_tokens *t, const char *token,
                       long long now_ms, struct auth_user **user_r)
{
        struct token_entry *e = auth_map_del(t->map, token);

        *user_r = NULL;
        if (e == NULL)
                return 0;
        if (e->expires <= now_ms) {
                entry_free(e);
                return 0;
        }
        *user_r = e->user;
        e->user = NULL;
        entry_free(e);
        return 1;
}

static int purge_one(const char *key, void *value, void *ctx)
{
        struct token_entry *e = value;

        if (e->expires > *(const long long *)ctx)
                return 0;
        entry_free(e);
        return 1;
}

size_t auth_tokens_purge(struct auth_tokens *t, long long now_ms)
{
        auth_map_each(t->map, purge_one, &now_ms);
        return auth_map_count(t->map);
}
