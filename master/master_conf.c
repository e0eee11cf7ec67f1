/* master_conf.c - from main.cf and master.cf to the list of services
 * Used by: yubin (start, reload, check). Decides what each master.cf line
 * means to Yubin: inet lines become listeners for the program they name;
 * qmgr, local and smtp lines give their -o settings to Yubin's internal
 * services, which run whether or not master.cf names them; Postfix's other
 * programs have no counterpart and are ignored with one warning each. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fileio.h"
#include "log.h"
#include "loop.h"
#include "master.h"
#include "mem.h"

/* Always running, in start order: authd first, since the rest ask it. */
static const char *const internal_services[] = {
        "authd", "qmgr", "local", "smtp",
};

/* Postfix programs whose work Yubin does inside its own daemons. */
static const char *const postfix_only[] = {
        "anvil", "bounce", "cleanup", "discard", "dnsblog", "error", "flush",
        "lmtp", "oqmgr", "pickup", "pipe", "postlogd", "postscreen",
        "proxymap", "scache", "showq", "spawn", "tlsmgr", "tlsproxy",
        "trivial-rewrite", "verify", "virtual",
};

static int in_list(const char *name, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(name, list[i]) == 0)
                        return 1;
        return 0;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static char **strv_add(char **v, size_t *n, const char *s)
{
        v = xrealloc(v, (*n + 2) * sizeof(*v));
        v[(*n)++] = xstrdup(s);
        v[*n] = NULL;
        return v;
}

static void strv_free(char ***vp)
{
        if (*vp == NULL)
                return;
        for (char **p = *vp; *p; p++)
                free(*p);
        free(*vp);
        *vp = NULL;
}

static void service_free(struct master_service *s)
{
        free(s->name);
        free(s->program);
        free(s->path);
        free(s->type);
        strv_free(&s->argv);
        free(s->host);
        free(s->port);
        for (size_t i = 0; i < s->listener_count; i++) {
                free(s->listeners[i].key);
                if (s->listeners[i].fd >= 0)
                        close(s->listeners[i].fd);
        }
        free(s->listeners);
        free(s->where);
        loop_timer_free(&s->restart);
}

void master_conf_free(struct master_conf **cp)
{
        struct master_conf *c;

        if (cp == NULL || *cp == NULL)
                return;
        c = *cp;
        for (size_t i = 0; i < c->count; i++)
                service_free(&c->services[i]);
        free(c->services);
        cfg_free(&c->cfg);
        free(c->main_cf);
        buf_release(&c->main_text);
        if (c->main_fd >= 0)
                close(c->main_fd);
        free(c);
        *cp = NULL;
}

/* check_overrides - a service's -o settings must make a valid config too;
 * returns the number of errors, each logged */
static int check_overrides(const struct master_conf *conf,
                           const char *config_dir,
                           const struct mastercf_service *ms)
{
        struct cfg *c;
        int errors = 0;

        if (ms->overrides == NULL || ms->overrides[0] == NULL)
                return 0;
        c = cfg_new(config_dir);
        cfg_parse_main(c, conf->main_cf, buf_cstr(&conf->main_text),
                       conf->main_text.len);
        size_t before = cfg_diag_count(c);
        char *where = xasprintf("%s:%d", ms->file, ms->line);
        for (char **o = ms->overrides; *o; o++)
                cfg_override(c, *o, where);
        free(where);
        cfg_check(c);
        /* main.cf's own problems were reported already; show only what
         * the -o options added */
        for (size_t i = 0; i < cfg_diag_count(c); i++) {
                int is_error;
                const char *msg = cfg_diag(c, i, &is_error);

                if (i < before || !is_error)
                        continue;
                if (strstr(msg, ms->file) == NULL)
                        continue;       /* main.cf problem seen before */
                log_error("%s", msg);
                errors++;
        }
        cfg_free(&c);
        return errors;
}

/* add_service - append a service running program with master.cf's -o
 * options and arguments (ms may be NULL for an internal service) */
static struct master_service *add_service(struct master_conf *conf,
                                          const char *config_dir,
                                          const char *name,
                                          const char *program,
                                          const char *type,
                                          const struct mastercf_service *ms)
{
        const char *dir = cfg_get(conf->cfg, "daemon_directory");
        struct master_service *s;
        size_t argc = 0;

        conf->services = xrealloc(conf->services,
                                  (conf->count + 1) * sizeof(*conf->services));
        s = &conf->services[conf->count++];
        memset(s, 0, sizeof(*s));
        s->name = xstrdup(name);
        s->program = xstrdup(program);
        s->path = xasprintf("%s/%s", dir, program);
        s->type = xstrdup(type);
        s->where = ms ? xasprintf("%s:%d", ms->file, ms->line)
                      : xstrdup("internal");
        s->argv = strv_add(NULL, &argc, s->path);
        s->argv = strv_add(s->argv, &argc, "-c");
        s->argv = strv_add(s->argv, &argc, config_dir);
        s->argv = strv_add(s->argv, &argc, "-n");
        s->argv = strv_add(s->argv, &argc, name);
        s->argv = strv_add(s->argv, &argc, "-t");
        s->argv = strv_add(s->argv, &argc, type);
        if (ms != NULL) {
                for (char **o = ms->overrides; o && *o; o++) {
                        s->argv = strv_add(s->argv, &argc, "-o");
                        s->argv = strv_add(s->argv, &argc, *o);
                }
                for (char **a = ms->args; a && *a; a++)
                        s->argv = strv_add(s->argv, &argc, *a);
                if (ms->host != NULL)
                        s->host = xstrdup(ms->host);
                if (ms->port != NULL)
                        s->port = xstrdup(ms->port);
        }
        return s;
}

static int program_exists(struct master_conf *conf, const char *program)
{
        char *path = xasprintf("%s/%s", cfg_get(conf->cfg, "daemon_directory"),
                               program);
        int ok = access(path, X_OK) == 0;

        free(path);
        return ok;
}

/* map_entry - what one master.cf line means to Yubin; returns the number
 * of errors (each logged) */
static int map_entry(struct master_conf *conf, const char *config_dir,
                     const struct mastercf_service *ms,
                     int warn, const struct mastercf_service **internal_r)
{
        const char *cmd = ms->command;
        int errors = check_overrides(conf, config_dir, ms);

        if (in_list(cmd, internal_services, COUNT(internal_services))) {
                if (strcmp(ms->service, cmd) == 0 &&
                    strcmp(ms->type, "inet") != 0) {
                        for (size_t i = 0; i < COUNT(internal_services); i++)
                                if (strcmp(cmd, internal_services[i]) == 0)
                                        internal_r[i] = ms;
                        return errors;
                }
                if (warn)
                        log_warn("%s:%d: service %s (%s): Yubin runs one %s "
                                 "service; this line is ignored", ms->file,
                                 ms->line, ms->service, cmd, cmd);
                return errors;
        }
        if (in_list(cmd, postfix_only, COUNT(postfix_only))) {
                if (warn)
                        log_warn("%s:%d: service %s: Postfix program %s has "
                                 "no counterpart in Yubin; ignored", ms->file,
                                 ms->line, ms->service, cmd);
                return errors;
        }
        if (strcmp(ms->type, "inet") != 0) {
                if (warn)
                        log_warn("%s:%d: service %s: %s service of program %s "
                                 "is not used by Yubin; ignored", ms->file,
                                 ms->line, ms->service, ms->type, cmd);
                return errors;
        }
        if (strchr(cmd, '/') != NULL) {
                log_error("%s:%d: service %s: command %s must be a program "
                          "name in daemon_directory", ms->file, ms->line,
                          ms->service, cmd);
                return errors + 1;
        }
        if (!program_exists(conf, cmd)) {
                if (warn)
                        log_warn("%s:%d: service %s: no program %s in "
                                 "daemon_directory %s; not started", ms->file,
                                 ms->line, ms->service, cmd,
                                 cfg_get(conf->cfg, "daemon_directory"));
                return errors;
        }
        for (size_t i = 0; i < conf->count; i++) {
                struct master_service *o = &conf->services[i];
                if (o->port == NULL)
                        continue;
                if (strcmp(o->port, ms->port) == 0 &&
                    ((o->host == NULL && ms->host == NULL) ||
                     (o->host && ms->host && strcmp(o->host, ms->host) == 0))) {
                        log_error("%s:%d: service %s: duplicate of %s",
                                  ms->file, ms->line, ms->service, o->where);
                        return errors + 1;
                }
        }
        if (ms->chroot && warn)
                log_warn("%s:%d: service %s: chroot column ignored; Yubin "
                         "daemons drop privileges instead", ms->file, ms->line,
                         ms->service);
        add_service(conf, config_dir, ms->service, cmd, "inet", ms);
        return errors;
}

/* read_main - main.cf's text, parsed, and kept in a sealed memfd for the
 * daemons; 0, or -1 (logged or recorded in conf->cfg) */
static int read_main(struct master_conf *conf)
{
        struct status st;
        int r = fileio_read(conf->main_cf, DAEMON_CONFIG_MAX, &conf->main_text,
                            &st);

        if (r <= 0) {
                if (r == 0)
                        log_error("%s: no such file", conf->main_cf);
                else
                        log_error("%s", st.text);
                return -1;
        }
        int fd = memfd_create("main.cf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) {
                log_error("memfd_create: %m");
                return -1;
        }
        size_t done = 0;
        while (done < conf->main_text.len) {
                ssize_t n = write(fd, conf->main_text.data + done,
                                  conf->main_text.len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        log_error("write main.cf copy: %m");
                        close(fd);
                        return -1;
                }
                done += (size_t)n;
        }
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
                               F_SEAL_SEAL);
        conf->main_fd = fd;
        return cfg_parse_main(conf->cfg, conf->main_cf,
                              buf_cstr(&conf->main_text), conf->main_text.len);
}

struct master_conf *master_conf_load(const char *config_dir, int warn)
{
        struct master_conf *conf = xcalloc(1, sizeof(*conf));
        char *main_cf = xasprintf("%s/main.cf", config_dir);
        char *master_cf = xasprintf("%s/master.cf", config_dir);
        const struct mastercf_service *internal[COUNT(internal_services)];
        struct mastercf *mcf = NULL;
        int errors = 0;

        memset(internal, 0, sizeof(internal));
        conf->cfg = cfg_new(config_dir);
        conf->main_cf = xstrdup(main_cf);
        conf->main_fd = -1;
        buf_init(&conf->main_text, 0);
        if (read_main(conf) < 0)
                errors++;
        if (cfg_check(conf->cfg) < 0)
                errors++;
        for (size_t i = 0; i < cfg_diag_count(conf->cfg); i++) {
                int is_error;
                const char *msg = cfg_diag(conf->cfg, i, &is_error);
                if (is_error)
                        log_error("%s", msg);
                else if (warn)
                        log_warn("%s", msg);
        }
        if (errors > 0)
                goto out;

        mcf = mastercf_read(master_cf);
        for (char **e = mcf->errors; e && *e; e++) {
                log_error("%s", *e);
                errors++;
        }
        for (size_t i = 0; i < mcf->count; i++)
                errors += map_entry(conf, config_dir, &mcf->services[i],
                                    warn, internal);

        /* internal services first, in their start order */
        size_t inet_count = conf->count;
        for (size_t i = 0; i < COUNT(internal_services); i++) {
                if (!program_exists(conf, internal_services[i])) {
                        log_debug("no %s in daemon_directory; not started",
                                  internal_services[i]);
                        continue;
                }
                add_service(conf, config_dir, internal_services[i],
                            internal_services[i], "unix", internal[i]);
        }
        if (inet_count > 0 && conf->count > inet_count) {
                size_t n_int = conf->count - inet_count;
                struct master_service *tmp = xmalloc(conf->count * sizeof(*tmp));
                memcpy(tmp, conf->services + inet_count, n_int * sizeof(*tmp));
                memcpy(tmp + n_int, conf->services, inet_count * sizeof(*tmp));
                free(conf->services);
                conf->services = tmp;
        }
out:
        mastercf_free(&mcf);
        free(main_cf);
        free(master_cf);
        if (errors > 0) {
                log_error("%s: %d configuration error%s",
                          config_dir, errors, errors == 1 ? "" : "s");
                master_conf_free(&conf);
                return NULL;
        }
        return conf;
}
