/* ctl_queue.c - yubinctl queue: look at and manage the mail queue
 *   queue list                    the queue as mailq shows it (postqueue -p)
 *   queue show ID                 one message: envelope, then content
 *                                 (postcat -q)
 *   queue flush [ALL]             every deferred message now (postqueue -f)
 *   queue flush DOMAIN|-s DOMAIN  deferred mail with a pending recipient at
 *                                 DOMAIN (postqueue -s)
 *   queue flush ID...|-i ID       these messages now (postqueue -i)
 *   queue delete  ID...|ALL|-     remove (postsuper -d)
 *   queue hold    ID...|ALL|-     put on hold: no delivery (postsuper -h)
 *   queue release ID...|ALL|-     release from hold (postsuper -H)
 *   queue requeue ID...|ALL|-     route the pending recipients again
 *                                 (postsuper -r)
 * ("-" reads the IDs from standard input, as postsuper does.)
 * Used by: administrators and scripts. While qmgr runs, every change is a
 * request over its socket (common/queue_ctl.h), so that qmgr, which may
 * be delivering the message, carries it out; when qmgr is not running
 * the files are changed here (queue_admin in common/queue_file_admin.c),
 * as postsuper does without the daemon, and the changes are logged as
 * postsuper logs them ("ID: removed"). Runs as root (it becomes
 * mail_owner before touching the queue), as mail_owner, or as the owner
 * of an unprivileged instance's queue; anybody else is refused. Reads no
 * network input. Exit status: 0, 1 when a message could not be found or
 * changed, EX_USAGE (64), EX_NOPERM (77), EX_CONFIG (78). */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "log.h"
#include "mem.h"
#include "priv.h"
#include "queue_ctl.h"
#include "queue_file.h"

#define QUEUE_STDIN_LINE_MAX    4096

/* One invocation. */
struct queue_run {
        const struct ctl *ctl;
        struct cfg *cfg;
        const char *queue_dir;
        unsigned long seq;
        int direct;             /* qmgr is not running: work on files */
        int logging;            /* the mail log is open (direct) */
        int failed;
};

static int queue_usage(void)
{
        fputs("usage: " CTL_PROGNAME " [-v] [-c DIR] queue COMMAND ...\n"
              "  list                      the queue, as mailq shows it\n"
              "  show ID                   one message: envelope and "
              "content\n"
              "  flush [ALL]               try every deferred message "
              "now\n"
              "  flush DOMAIN | -s DOMAIN  ... those with recipients at "
              "DOMAIN\n"
              "  flush ID... | -i ID       ... these messages\n"
              "  delete ID...|ALL|-        remove messages\n"
              "  hold ID...|ALL|-          put messages on hold\n"
              "  release ID...|ALL|-       release held messages\n"
              "  requeue ID...|ALL|-       route pending recipients "
              "again\n"
              "  (\"-\" reads queue IDs from standard input)\n", stderr);
        return EX_USAGE;
}

/* queue_access - may this user manage the queue? As root, become
 * mail_owner. 0, or -1 (said). */
static int queue_access(struct queue_run *q)
{
        const char *owner_name = cfg_get(q->cfg, "mail_owner");
        struct priv owner;
        struct status st;
        struct stat sb;
        char *path;
        int have_owner = priv_lookup("mail_owner", owner_name, &owner,
                                     &st) == 0;

        if (priv_is_root()) {
                if (!have_owner) {
                        ctl_error("%s", st.text);
                        return -1;
                }
                if (priv_drop(&owner, &st) < 0) {
                        ctl_error("%s", st.text);
                        return -1;
                }
                return 0;
        }
        if (have_owner && geteuid() == owner.uid)
                return 0;
        /* an unprivileged instance: its queue belongs to its user */
        path = xasprintf("%s/%s", q->queue_dir, QUEUE_INCOMING);
        if (stat(path, &sb) < 0 && stat(q->queue_dir, &sb) < 0)
                sb.st_uid = geteuid();  /* no queue yet: nothing to see */
        free(path);
        if (sb.st_uid == geteuid())
                return 0;
        ctl_error("queue: permission denied: only root and mail_owner "
                  "(%s) may manage the mail queue", owner_name);
        return -1;
}

/* open_mail_log - changes made here go to the mail log, as qmgr's do */
static void open_mail_log(struct queue_run *q)
{
        const char *file = cfg_get(q->cfg, "maillog_file");

        if (q->logging)
                return;
        q->logging = 1;
        log_open(cfg_get(q->cfg, "syslog_name"), CTL_PROGNAME,
                 *file != '\0' ? LOG_TO_FILE : LOG_TO_SYSLOG, file);
}

/* ask - cmd with arg through qmgr: 1 done (*count_r messages), 0
 * skipped (why_r), -1 failed (st; said by the caller); when qmgr is not
 * running, q->direct is set and 0 returned */
static int ask(struct queue_run *q, enum queue_ctl_cmd cmd, const char *arg,
               unsigned long *count_r, char *why_r, size_t why_size,
               struct status *st)
{
        struct queue_ctl_req req;
        struct queue_ctl_reply rep;
        int r;

        *count_r = 0;
        memset(&req, 0, sizeof(req));
        req.seq = ++q->seq;
        req.cmd = cmd;
        snprintf(req.arg, sizeof(req.arg), "%s", arg);
        r = queue_ctl_call(q->queue_dir, &req, QUEUE_CTL_TIMEOUT_MS, &rep,
                           st);
        if (r < 0)
                return -1;
        if (r == 0) {
                ctl_debug(q->ctl, "qmgr is not running: changing the queue "
                          "files directly");
                q->direct = 1;
                return 0;
        }
        ctl_debug(q->ctl, "%s %s: answered by qmgr", queue_ctl_cmd_name(cmd),
                  arg);
        if (rep.result == QUEUE_CTL_ERROR) {
                *st = rep.st;
                return -1;
        }
        if (rep.result == QUEUE_CTL_SKIP) {
                snprintf(why_r, why_size, "%s", rep.st.text);
                return 0;
        }
        *count_r = rep.count;
        return 1;
}

/* request - op on message id: through qmgr, or on the file when qmgr is
 * not running; as ask() */
static int request(struct queue_run *q, enum queue_ctl_cmd cmd,
                   enum queue_admin_op op, const char *id,
                   unsigned long *count_r, char *why_r, size_t why_size,
                   struct status *st)
{
        const char *why = NULL;
        int r;

        if (!q->direct) {
                r = ask(q, cmd, id, count_r, why_r, why_size, st);
                if (!q->direct)
                        return r;
        }
        open_mail_log(q);
        r = queue_admin(q->queue_dir, op, id, 0, &why, st);
        *count_r = r > 0 ? 1 : 0;
        if (r == 0)
                snprintf(why_r, why_size, "%s", why);
        return r;
}

/* read_ids - queue IDs from standard input, appended to *ids */
static void read_ids(char ***ids, size_t *n)
{
        char line[QUEUE_STDIN_LINE_MAX];

        while (fgets(line, sizeof(line), stdin) != NULL) {
                for (char *tok = strtok(line, " \t\r\n"); tok != NULL;
                     tok = strtok(NULL, " \t\r\n")) {
                        *ids = xrealloc(*ids, (*n + 2) * sizeof(char *));
                        (*ids)[(*n)++] = xstrdup(tok);
                        (*ids)[*n] = NULL;
                }
        }
}

/* The per-message commands. */
static const struct {
        const char *name;
        enum queue_ctl_cmd cmd;
        enum queue_admin_op op;
        const char *done;       /* postsuper's summary word */
} queue_ops[] = {
        { "delete", QUEUE_CTL_DELETE, QUEUE_ADMIN_DELETE, "Deleted" },
        { "hold", QUEUE_CTL_HOLD, QUEUE_ADMIN_HOLD, "Placed on hold" },
        { "release", QUEUE_CTL_RELEASE, QUEUE_ADMIN_RELEASE,
          "Released from hold" },
        { "requeue", QUEUE_CTL_REQUEUE, QUEUE_ADMIN_REQUEUE, "Requeued" },
};

/* per_message - delete, hold, release, requeue (row k) for the IDs in
 * argv, ALL or "-" */
static int per_message(struct queue_run *q, size_t k, int argc, char **argv)
{
        char **ids = xcalloc(1, sizeof(char *));
        size_t n = 0;
        unsigned long total = 0;
        struct status st;
        int all = 0;

        if (argc < 2)
                return queue_usage();
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "-") == 0) {
                        read_ids(&ids, &n);
                } else if (strcmp(argv[i], "ALL") == 0) {
                        char **more = NULL;
                        size_t m = 0;

                        if (queue_admin_ids(q->queue_dir, queue_ops[k].op,
                                            &more, &m, &st) < 0) {
                                ctl_error("%s", st.text);
                                q->failed = 1;
                                continue;
                        }
                        all = 1;
                        ids = xrealloc(ids, (n + m + 1) * sizeof(char *));
                        memcpy(ids + n, more, m * sizeof(char *));
                        n += m;
                        ids[n] = NULL;
                        free(more);
                } else {
                        ids = xrealloc(ids, (n + 2) * sizeof(char *));
                        ids[n++] = xstrdup(argv[i]);
                        ids[n] = NULL;
                }
        }
        for (size_t i = 0; i < n; i++) {
                char why[STATUS_TEXT_MAX];
                unsigned long count;
                int r;

                if (!queue_id_valid(ids[i])) {
                        ctl_error("%s: not a queue ID", ids[i]);
                        q->failed = 1;
                        continue;
                }
                r = request(q, queue_ops[k].cmd, queue_ops[k].op, ids[i],
                            &count, why, sizeof(why), &st);
                if (r > 0) {
                        total += count;
                        ctl_debug(q->ctl, "%s: %s", ids[i],
                                  queue_ops[k].done);
                } else if (r == 0) {
                        if (!all)
                                ctl_warn("%s: %s", ids[i], why);
                } else if (!(all && status_class(&st) == 5)) {
                        /* with ALL, a message that left meanwhile (it was
                         * delivered) is no failure */
                        ctl_error("%s", st.text);
                        q->failed = 1;
                }
        }
        queue_ids_free(&ids);
        if (total > 0) {
                fflush(stdout);
                fprintf(stderr, "%s: %s: %lu message%s\n", CTL_PROGNAME,
                        queue_ops[k].done, total, total == 1 ? "" : "s");
        }
        return q->failed ? 1 : 0;
}

/* flush_files - flush while qmgr is not running: make the messages due,
 * so that qmgr tries them as soon as it starts */
static unsigned long flush_files(struct queue_run *q, const char *site)
{
        char **ids = NULL;
        size_t n = 0;
        unsigned long count = 0;
        struct status st;

        if (queue_admin_ids(q->queue_dir, QUEUE_ADMIN_FLUSH, &ids, &n,
                            &st) < 0) {
                ctl_error("%s", st.text);
                q->failed = 1;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (site != NULL && !queue_admin_site(q->queue_dir,
                                        QUEUE_DEFERRED, ids[i], site))
                        continue;
                if (queue_admin_due(q->queue_dir, ids[i], &st) == 0)
                        count++;
        }
        queue_ids_free(&ids);
        return count;
}

/* flush_one - one flush request: cmd FLUSH (arg ALL), FLUSH_SITE or
 * FLUSH_ID */
static void flush_one(struct queue_run *q, enum queue_ctl_cmd cmd,
                      const char *arg)
{
        char why[STATUS_TEXT_MAX];
        unsigned long count = 0;
        struct status st;
        int r = 1;

        if (!queue_ctl_arg_ok(cmd, arg)) {
                ctl_error("%s: not a %s", arg, cmd == QUEUE_CTL_FLUSH_ID ?
                          "queue ID" : "domain name");
                q->failed = 1;
                return;
        }
        if (cmd == QUEUE_CTL_FLUSH_ID)
                r = request(q, cmd, QUEUE_ADMIN_FLUSH, arg, &count, why,
                            sizeof(why), &st);
        else if (!q->direct)
                r = ask(q, cmd, arg, &count, why, sizeof(why), &st);
        if (q->direct && cmd != QUEUE_CTL_FLUSH_ID) {
                count = flush_files(q, cmd == QUEUE_CTL_FLUSH_SITE ? arg :
                                    NULL);
                r = 1;
        }
        if (r > 0) {
                ctl_debug(q->ctl, "flush %s: %lu message%s", arg, count,
                          count == 1 ? "" : "s");
        } else if (r == 0) {
                ctl_warn("%s: %s", arg, why);
        } else {
                ctl_error("%s", st.text);
                q->failed = 1;
        }
}

static int flush(struct queue_run *q, int argc, char **argv)
{
        if (argc == 1)
                flush_one(q, QUEUE_CTL_FLUSH, "ALL");
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if ((strcmp(a, "-s") == 0 || strcmp(a, "-i") == 0) &&
                    i + 1 < argc)
                        flush_one(q, a[1] == 's' ? QUEUE_CTL_FLUSH_SITE :
                                  QUEUE_CTL_FLUSH_ID, argv[++i]);
                else if (*a == '-')
                        return queue_usage();
                else if (strcmp(a, "ALL") == 0)
                        flush_one(q, QUEUE_CTL_FLUSH, "ALL");
                else if (queue_id_valid(a))
                        flush_one(q, QUEUE_CTL_FLUSH_ID, a);
                else if (queue_ctl_arg_ok(QUEUE_CTL_FLUSH_SITE, a))
                        flush_one(q, QUEUE_CTL_FLUSH_SITE, a);
                else {
                        ctl_error("%s: neither a queue ID nor a domain name",
                                  a);
                        q->failed = 1;
                }
        }
        if (q->direct)
                ctl_warn("qmgr is not running: the mail is tried when "
                         "Yubin starts");
        return q->failed ? 1 : 0;
}

static int show(struct queue_run *q, int argc, char **argv)
{
        struct status st;
        int r;

        if (argc != 2)
                return queue_usage();
        if (!queue_id_valid(argv[1])) {
                ctl_error("%s: not a queue ID", argv[1]);
                return 1;
        }
        r = queue_show(stdout, q->queue_dir, argv[1], &st);
        if (r == 0)
                ctl_error("%s: no such message in the queue", argv[1]);
        else if (r < 0)
                ctl_error("%s", st.text);
        if (fflush(stdout) != 0)
                return 1;
        return r > 0 ? 0 : 1;
}

int ctl_queue_run(struct ctl *ctl, int argc, char **argv)
{
        struct queue_run q;
        size_t errors;
        int ret = -1;

        if (argc < 2 || strcmp(argv[1], "-?") == 0 ||
            strcmp(argv[1], "help") == 0)
                return queue_usage();
        memset(&q, 0, sizeof(q));
        q.ctl = ctl;
        q.seq = ((unsigned long)getpid() & 0xfffff) << 8;
        q.cfg = ctl_cfg_load(ctl, &errors);
        if (errors > 0) {
                ctl_error("the configuration in %s has errors: fix them "
                          "first", ctl->config_dir);
                cfg_free(&q.cfg);
                return EX_CONFIG;
        }
        q.queue_dir = cfg_get(q.cfg, "queue_directory");
        if (queue_access(&q) < 0) {
                cfg_free(&q.cfg);
                return EX_NOPERM;
        }
        argc--;
        argv++;
        if (strcmp(argv[0], "list") == 0 && argc == 1) {
                ret = queue_list(stdout, q.queue_dir) < 0 ? 1 : 0;
                if (fflush(stdout) != 0)
                        ret = 1;
        } else if (strcmp(argv[0], "show") == 0) {
                ret = show(&q, argc, argv);
        } else if (strcmp(argv[0], "flush") == 0) {
                ret = flush(&q, argc, argv);
        } else {
                for (size_t k = 0; k < sizeof(queue_ops) / sizeof(*queue_ops);
                     k++)
                        if (strcmp(argv[0], queue_ops[k].name) == 0)
                                ret = per_message(&q, k, argc, argv);
        }
        cfg_free(&q.cfg);
        return ret < 0 ? queue_usage() : ret;
}
