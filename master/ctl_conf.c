/* ctl_conf.c - yubinctl conf: show and edit main.cf, list master.cf and SASL
 * Used by: yubinctl (the "conf" command), as postconf is used with Postfix:
 *   conf [-dhnx] [name...]   values (effective, -d default, -n set in
 *                            main.cf; -h value only; -x $-expanded)
 *   conf -e name=value...    edit main.cf in place; -X name... removes
 *   conf -M [service[/type]...]  master.cf entries
 *   conf -a                  SASL server implementation and mechanisms
 * The editing behind -e and -X lives in ctl_conf_edit.c. Runs as the
 * invoking user; reads main.cf, master.cf and Cyrus SASL's plug-ins. */
#include <sasl/sasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "mastercf.h"
#include "mem.h"

enum conf_mode {
        CONF_SHOW,      /* effective values */
        CONF_DEFAULTS,  /* -d */
        CONF_SET,       /* -n */
        CONF_EDIT,      /* -e */
        CONF_REMOVE,    /* -X */
        CONF_SASL,      /* -a */
        CONF_MASTER,    /* -M */
};

struct conf_opts {
        enum conf_mode mode;
        int values_only;        /* -h */
        int expand;             /* -x */
};

static const char conf_usage_text[] =
        "usage: " CTL_PROGNAME " [-c DIR] conf [-dhnx] [name ...]\n"
        "       " CTL_PROGNAME " [-c DIR] conf -e name=value ...\n"
        "       " CTL_PROGNAME " [-c DIR] conf -X name ...\n"
        "       " CTL_PROGNAME " [-c DIR] conf -M [service[/type] ...]\n"
        "       " CTL_PROGNAME " [-c DIR] conf -a\n"
        "  (none) effective values, as written in main.cf (name = value)\n"
        "  -d     defaults from the parameter table\n"
        "  -n     only parameters that main.cf sets\n"
        "  -h     values without \"name = \"\n"
        "  -x     expand $name references in values\n"
        "  -e     set parameters in main.cf (replaces every assignment,\n"
        "         appends a new one; comments and other lines are kept)\n"
        "  -X     remove parameters from main.cf\n"
        "  -M     master.cf services, one per line in master.cf columns\n"
        "  -a     SASL server implementations, one per line (\"cyrus\"),\n"
        "         each followed by the mechanisms it offers on this host,\n"
        "         one per line, indented by four spaces\n";

static int conf_usage(void)
{
        fputs(conf_usage_text, stderr);
        return EX_USAGE;
}

/* --- showing values --- */

static int conf_cmp_name(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void conf_print(const struct conf_opts *o, struct cfg *c,
                       const char *name, const char *value)
{
        char *expanded = NULL;
        const char *error = NULL;

        if (o->expand) {
                expanded = cfg_expand(c, value, &error);
                if (expanded == NULL)
                        ctl_warn("%s: cannot expand \"%s\": %s", name, value,
                                 error != NULL ? error : "bad reference");
                else
                        value = expanded;
        }
        if (o->values_only)
                printf("%s\n", value);
        else if (*value == '\0')
                printf("%s =\n", name);
        else
                printf("%s = %s\n", name, value);
        free(expanded);
}

/* conf_show - the no-flag, -d and -n forms */
static int conf_show(struct ctl *ctl, const struct conf_opts *o, int argc,
                     char **argv)
{
        const char **names;
        size_t count = 0;
        size_t errors = 0;
        struct cfg *c;

        if (o->mode == CONF_DEFAULTS)
                c = cfg_new(ctl->config_dir);   /* main.cf plays no part */
        else
                c = ctl_cfg_load(ctl, &errors);

        if (argc > 0) {
                names = xcalloc((size_t)argc, sizeof(*names));
                for (int i = 0; i < argc; i++) {
                        if (cfg_param_find(argv[i]) == NULL) {
                                ctl_warn("%s: unknown parameter", argv[i]);
                                continue;
                        }
                        if (o->mode == CONF_SET && !cfg_is_set(c, argv[i]))
                                continue;
                        names[count++] = argv[i];
                }
        } else if (o->mode == CONF_SET) {
                size_t n = 0;

                while (cfg_set_name(c, n) != NULL)
                        n++;
                names = xcalloc(n, sizeof(*names));
                for (size_t i = 0; i < n; i++) {
                        const char *name = cfg_set_name(c, i);

                        /* an unknown name was reported by cfg_check() */
                        if (cfg_param_find(name) != NULL)
                                names[count++] = name;
                }
                qsort(names, count, sizeof(*names), conf_cmp_name);
        } else {
                names = xcalloc(cfg_params_count, sizeof(*names));
                for (size_t i = 0; i < cfg_params_count; i++)
                        names[count++] = cfg_params[i].name;
                qsort(names, count, sizeof(*names), conf_cmp_name);
        }

        for (size_t i = 0; i < count; i++) {
                const char *value;

                if (o->mode == CONF_DEFAULTS)
                        value = cfg_param_find(names[i])->def;
                else
                        value = cfg_get_raw(c, names[i], NULL);
                conf_print(o, c, names[i], value != NULL ? value : "");
        }
        free(names);
        cfg_free(&c);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                ctl_error("write standard output: %m");
                return 1;
        }
        return errors > 0 ? 1 : 0;
}

/* --- conf -M: master.cf --- */

static int conf_service_match(const struct mastercf_service *s,
                              const char *pattern)
{
        const char *slash = strchr(pattern, '/');

        if (slash == NULL)
                return strcmp(s->service, pattern) == 0;
        return strlen(s->service) == (size_t)(slash - pattern) &&
               strncmp(s->service, pattern, (size_t)(slash - pattern)) == 0 &&
               strcmp(s->type, slash + 1) == 0;
}

static void conf_print_service(const struct mastercf_service *s)
{
        char maxproc[24];

        if (s->maxproc < 0)
                snprintf(maxproc, sizeof(maxproc), "-");
        else
                snprintf(maxproc, sizeof(maxproc), "%d", s->maxproc);
        printf("%-10s %-5s %-7s %-7s %-7s %-7s %-7s %s", s->service, s->type,
               s->private_ ? "y" : "n", s->unpriv ? "y" : "n",
               s->chroot ? "y" : "n", s->wakeup != NULL ? s->wakeup : "-",
               maxproc, s->command);
        for (char **p = s->overrides; p != NULL && *p != NULL; p++)
                printf(" -o %s", *p);
        for (char **p = s->args; p != NULL && *p != NULL; p++)
                printf(" %s", *p);
        putchar('\n');
}

static int conf_master(struct ctl *ctl, int argc, char **argv)
{
        char *path = ctl_path(ctl, "master.cf");
        struct mastercf *m = mastercf_read(path);
        int rc = 0;

        for (size_t i = 0; i < m->count; i++) {
                int want = argc == 0;

                for (int j = 0; j < argc && !want; j++)
                        want = conf_service_match(&m->services[i], argv[j]);
                if (want)
                        conf_print_service(&m->services[i]);
        }
        for (int j = 0; j < argc; j++) {
                size_t i;

                for (i = 0; i < m->count; i++)
                        if (conf_service_match(&m->services[i], argv[j]))
                                break;
                if (i == m->count)
                        ctl_warn("%s: no such service in %s", argv[j], path);
        }
        for (char **e = m->errors; e != NULL && *e != NULL; e++) {
                ctl_error("%s", *e);
                rc = 1;
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                ctl_error("write standard output: %m");
                rc = 1;
        }
        mastercf_free(&m);
        free(path);
        return rc;
}

/* --- conf -a: SASL --- */

/* conf_sasl_log - Cyrus SASL's messages: shown with -v, else dropped, so
 * that listing never writes to syslog or the terminal unasked */
static int conf_sasl_log(void *context, int level, const char *message)
{
        const struct ctl *ctl = context;

        if (level <= SASL_LOG_WARN || ctl->verbose > 1)
                ctl_debug(ctl, "sasl: %s", message != NULL ? message : "");
        return SASL_OK;
}

static int conf_sasl(struct ctl *ctl)
{
        sasl_callback_t callbacks[] = {
                { SASL_CB_LOG,
                  (int (*)(void))(void (*)(void))conf_sasl_log, ctl },
                { SASL_CB_LIST_END, NULL, NULL },
        };
        const char **mechs;
        const char **sorted;
        size_t n = 0;
        int rc;

        /* "cyrus" is the one server implementation Yubin has */
        printf("cyrus\n");
        rc = sasl_server_init(callbacks, "yubin");
        if (rc != SASL_OK) {
                ctl_error("Cyrus SASL: sasl_server_init: %s",
                          sasl_errstring(rc, NULL, NULL));
                return 1;
        }
        mechs = sasl_global_listmech();
        while (mechs != NULL && mechs[n] != NULL)
                n++;
        sorted = xcalloc(n, sizeof(*sorted));
        for (size_t i = 0; i < n; i++)
                sorted[i] = mechs[i];
        qsort(sorted, n, sizeof(*sorted), conf_cmp_name);
        for (size_t i = 0; i < n; i++)
                printf("    %s\n", sorted[i]);
        if (n == 0)
                ctl_warn("Cyrus SASL offers no mechanisms on this host "
                         "(are the plug-ins, e.g. libsasl2-modules, "
                         "installed?)");
        free(sorted);
        sasl_server_done();
        if (fflush(stdout) != 0 || ferror(stdout)) {
                ctl_error("write standard output: %m");
                return 1;
        }
        return 0;
}

/* --- the command --- */

static int conf_set_mode(struct conf_opts *o, enum conf_mode mode)
{
        if (o->mode != CONF_SHOW && o->mode != mode) {
                ctl_error("conf: options -d, -n, -e, -X, -M and -a do not "
                          "mix");
                return -1;
        }
        o->mode = mode;
        return 0;
}

int ctl_conf_run(struct ctl *ctl, int argc, char **argv)
{
        struct conf_opts o = { CONF_SHOW, 0, 0 };
        int ch;

        optind = 0;     /* restart getopt for the command's own options */
        opterr = 0;
        while ((ch = getopt(argc, argv, "+adehnMxX")) != -1) {
                int rc = 0;

                switch (ch) {
                case 'a':
                        rc = conf_set_mode(&o, CONF_SASL);
                        break;
                case 'd':
                        rc = conf_set_mode(&o, CONF_DEFAULTS);
                        break;
                case 'e':
                        rc = conf_set_mode(&o, CONF_EDIT);
                        break;
                case 'h':
                        o.values_only = 1;
                        break;
                case 'n':
                        rc = conf_set_mode(&o, CONF_SET);
                        break;
                case 'M':
                        rc = conf_set_mode(&o, CONF_MASTER);
                        break;
                case 'x':
                        o.expand = 1;
                        break;
                case 'X':
                        rc = conf_set_mode(&o, CONF_REMOVE);
                        break;
                default:
                        if (optopt != '?')
                                ctl_error("conf: unknown option -%c", optopt);
                        return conf_usage();
                }
                if (rc < 0)
                        return conf_usage();
        }
        argc -= optind;
        argv += optind;

        switch (o.mode) {
        case CONF_EDIT:
        case CONF_REMOVE:
                if (argc == 0 || o.values_only || o.expand)
                        return conf_usage();
                return ctl_conf_edit_run(ctl, o.mode == CONF_REMOVE, argc,
                                         argv);
        case CONF_SASL:
                if (argc != 0 || o.values_only || o.expand)
                        return conf_usage();
                return conf_sasl(ctl);
        case CONF_MASTER:
                if (o.values_only || o.expand)
                        return conf_usage();
                return conf_master(ctl, argc, argv);
        default:
                return conf_show(ctl, &o, argc, argv);
        }
}
