/* queue_inject.c - put a message into a queue the way smtpd does, for the
 * delivery tests (tests/proto/test_delivery*.py)
 *   queue_inject QUEUE_DIR [-f SENDER] [-r RCPT[:NOTIFY[:ORCPT]]]...
 *                [-a NAME=VALUE]... [-n] < message
 * The message is read from standard input as it should be stored (LF line
 * ends). NOTIFY is a number of QUEUE_NOTIFY_* bits. Writes the queue file
 * with queue_writer (commit: fsync, rename into incoming/), wakes qmgr
 * unless -n, and prints the queue ID. Run as root, it first becomes the
 * owner of QUEUE_DIR/incoming, as smtpd runs as mail_owner. Exit 0, or 1
 * with the reason on stderr. */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "mem.h"
#include "priv.h"
#include "queue_file.h"

static void usage(void)
{
        fprintf(stderr, "usage: queue_inject QUEUE_DIR [-f SENDER] "
                "[-r RCPT[:NOTIFY[:ORCPT]]]... [-a NAME=VALUE]... [-n] "
                "< message\n");
        exit(1);
}

int main(int argc, char **argv)
{
        struct queue_writer *w = NULL;
        struct status st;
        const char *queue_dir;
        char chunk[65536], *incoming;
        size_t n;
        int notify = 1, nrcpt = 0;
        struct stat sb;

        if (argc < 2)
                usage();
        queue_dir = argv[1];
        incoming = xasprintf("%s/%s", queue_dir, QUEUE_INCOMING);
        if (priv_is_root() && stat(incoming, &sb) == 0 && sb.st_uid != 0) {
                struct priv p = { .uid = sb.st_uid, .gid = sb.st_gid };

                snprintf(p.name, sizeof(p.name), "%lu",
                         (unsigned long)sb.st_uid);
                if (priv_drop(&p, &st) < 0) {
                        fprintf(stderr, "queue_inject: %s\n", st.text);
                        return 1;
                }
        }
        free(incoming);
        if (queue_writer_open(queue_dir, &w, &st) < 0) {
                fprintf(stderr, "queue_inject: %s\n", st.text);
                return 1;
        }
        queue_writer_sender(w, "");
        for (int i = 2; i < argc; i++) {
                if (strcmp(argv[i], "-n") == 0) {
                        notify = 0;
                } else if (i + 1 >= argc) {
                        usage();
                } else if (strcmp(argv[i], "-f") == 0) {
                        queue_writer_sender(w, argv[++i]);
                } else if (strcmp(argv[i], "-a") == 0) {
                        char *eq = strchr(argv[++i], '=');

                        if (eq == NULL)
                                usage();
                        *eq = '\0';
                        queue_writer_attr(w, argv[i], eq + 1);
                } else if (strcmp(argv[i], "-r") == 0) {
                        char *spec = xstrdup(argv[++i]), *bits, *orcpt = NULL;
                        unsigned long mask = 0;

                        bits = strchr(spec, ':');
                        if (bits != NULL) {
                                *bits++ = '\0';
                                mask = strtoul(bits, &orcpt, 10);
                                if (*orcpt == ':')
                                        orcpt++;
                                else
                                        orcpt = NULL;
                        }
                        queue_writer_recipient(w, spec, orcpt,
                                               (unsigned)mask);
                        free(spec);
                        nrcpt++;
                } else {
                        usage();
                }
        }
        if (nrcpt == 0)
                usage();
        while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
                if (queue_writer_data(w, chunk, n, &st) < 0) {
                        fprintf(stderr, "queue_inject: %s\n", st.text);
                        return 1;
                }
        if (queue_writer_commit(w, &st) < 0) {
                fprintf(stderr, "queue_inject: %s\n", st.text);
                return 1;
        }
        printf("%s\n", queue_writer_id(w));
        queue_writer_free(&w);
        if (notify)
                queue_notify(queue_dir);
        return 0;
}
