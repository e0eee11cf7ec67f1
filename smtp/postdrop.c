/* postdrop.c - put a message from sendmail into the maildrop queue
 *   postdrop [-c config_dir] < maildrop-file
 * Used by: sendmail, when the submitting user may not write
 * queue_directory/maildrop/ itself (see maildrop.h for the whole design).
 * Installed setgid setgid_group (root:postdrop, mode 2755); maildrop/ is
 * mail_owner:postdrop mode 1730, so this program can create files there
 * that only pickup (qmgr, as mail_owner) reads. Its input is untrusted: it
 * is read up to a size limit and checked with maildrop_parse() before a
 * byte is stored; nothing in it is acted on here. When it runs with
 * privileges it did not start with, -c and MAIL_CONFIG are honoured only
 * for root or for a directory that root owns and alone may write (with
 * its main.cf), so a user cannot point it at a main.cf of their own (and
 * so at another directory writable by the group). Exit status: 0 stored,
 * EX_DATAERR bad or too big input, EX_TEMPFAIL could not store now,
 * EX_CONFIG bad main.cf, EX_USAGE. */
#include <sys/stat.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"

#ifndef DEF_CONFIG_DIRECTORY
#define DEF_CONFIG_DIRECTORY "/etc/yubin"
#endif

/* root_only - 1 if path belongs to root and no one else may change what
 * it holds (for a directory: not writable by others, or sticky, as /tmp,
 * where others cannot rename root's entries) */
static int root_only(const char *path, int dir)
{
        struct stat sb;

        if (stat(path, &sb) < 0 || sb.st_uid != 0)
                return 0;
        if ((sb.st_mode & (S_IWGRP | S_IWOTH)) == 0)
                return 1;
        return dir && S_ISDIR(sb.st_mode) && (sb.st_mode & S_ISVTX) != 0;
}

/* trusted_dir - dir resolved, if it and its main.cf and every directory
 * above it are root's alone (so it cannot be swapped after this check);
 * a new string, or NULL */
static char *trusted_dir(const char *dir)
{
        char *real = realpath(dir, NULL), *main_cf, *p;
        int ok;

        if (real == NULL)
                return NULL;
        main_cf = xasprintf("%s/main.cf", real);
        ok = root_only(main_cf, 0) && root_only(real, 0) &&
             root_only("/", 1);
        for (p = strchr(real + 1, '/'); ok && p != NULL;
             p = strchr(p + 1, '/')) {
                *p = '\0';
                ok = root_only(real, 1);
                *p = '/';
        }
        free(main_cf);
        if (!ok)
                xfree(&real);
        return real;
}

static void usage(void)
{
        fprintf(stderr, "usage: postdrop [-c config_dir] < maildrop-file\n");
        exit(EX_USAGE);
}

/* read_input - all of stdin into b, at most max bytes; 0 or -1 */
static int read_input(struct buf *b, size_t max)
{
        char chunk[65536];

        for (;;) {
                ssize_t n = read(0, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        log_error("read standard input: %m");
                        return -1;
                }
                if (n == 0)
                        return 0;
                if (b->len + (size_t)n > max) {
                        log_error("uid=%lu: message file too big",
                                  (unsigned long)getuid());
                        return -1;
                }
                buf_append(b, chunk, (size_t)n);
        }
}

int main(int argc, char **argv)
{
        const char *config_dir = DEF_CONFIG_DIRECTORY, *asked = NULL;
        int elevated = getegid() != getgid() || geteuid() != getuid();
        struct maildrop_env env;
        struct status st;
        struct cfg *cfg;
        struct buf in;
        size_t content, limit;
        char *path, *trusted = NULL;
        int c, ret = 0;

        /* nothing inherited decides where files go: only stdin is read */
        umask(077);
        buf_init(&in, 0);
        log_open("yubin", "postdrop", LOG_TO_STDERR | LOG_TO_SYSLOG, NULL);
        while ((c = getopt(argc, argv, "c:rv")) != -1) {
                switch (c) {
                case 'c':
                        asked = optarg;
                        break;
                case 'r':       /* Postfix's record format: ours is fixed */
                case 'v':
                        break;
                default:
                        usage();
                }
        }
        if (optind != argc)
                usage();
        if (asked == NULL)
                asked = getenv("MAIL_CONFIG");
        if (asked != NULL && *asked != '\0') {
                if (elevated && getuid() != 0) {
                        trusted = trusted_dir(asked);
                        config_dir = trusted;
                        if (trusted == NULL) {
                                log_error("uid=%lu: -c %s: not a "
                                          "configuration directory that "
                                          "only root may change",
                                          (unsigned long)getuid(), asked);
                                return EX_USAGE;
                        }
                } else {
                        config_dir = asked;
                }
        }

        cfg = cfg_new(config_dir);
        path = xasprintf("%s/main.cf", config_dir);
        if (cfg_read_main(cfg, path) < 0 || cfg_check(cfg) < 0) {
                cfg_log_diags(cfg);
                log_error("%s: the configuration has errors", path);
                ret = EX_CONFIG;
                goto out;
        }
        log_open(cfg_get(cfg, "syslog_name"), "postdrop",
                 LOG_TO_STDERR | LOG_TO_SYSLOG, NULL);
        limit = (size_t)cfg_get_size(cfg, "message_size_limit");
        if (read_input(&in, limit == 0 ? SIZE_MAX / 2 :
                       MAILDROP_ENVELOPE_MAX + limit) < 0) {
                ret = EX_DATAERR;
        } else if (maildrop_parse(buf_cstr(&in), in.len, &env, &content,
                                  &st) < 0) {
                log_error("uid=%lu: malformed input: %s",
                          (unsigned long)getuid(), st.text);
                ret = EX_DATAERR;
        } else {
                maildrop_env_release(&env);
                if (maildrop_store(cfg_get(cfg, "queue_directory"), in.data,
                                   in.len, NULL, &st) < 0) {
                        log_error("uid=%lu: %s", (unsigned long)getuid(),
                                  st.text);
                        ret = EX_TEMPFAIL;
                }
        }
out:
        free(path);
        buf_release(&in);
        cfg_free(&cfg);
        free(trusted);
        return ret;
}
