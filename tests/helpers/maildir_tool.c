/* maildir_tool.c - drive the Maildir library from the command line, for
 * the Dovecot interop tests (tests/proto/test_maildir_interop.py)
 *   maildir_tool ROOT create FOLDER
 *   maildir_tool ROOT subscribe FOLDER
 *   maildir_tool ROOT deliver FOLDER < message           prints the file name
 *   maildir_tool ROOT append FOLDER DATE [FLAG...] < message   prints the UID
 *   maildir_tool ROOT store FOLDER UID +|-|= [FLAG...]
 *   maildir_tool ROOT expunge FOLDER UID
 *   maildir_tool ROOT copy|move FOLDER UID DEST          prints the new UID
 *   maildir_tool ROOT dump                               syncs every folder
 * FLAG is \Seen, \Answered, \Flagged, \Deleted, \Draft or a keyword. dump
 * prints "folder NAME UIDVALIDITY UIDNEXT MESSAGES", "msg NAME UID FLAG..."
 * and "subscribed NAME" lines, tab-separated, in Dovecot's flag order
 * (system flags, then keywords in letter order). Exit 0, or 1 with the
 * reason on stderr. Runs as the invoking user. */
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"

static const struct {
        const char *name;
        uint32_t flag;
} system_flags[] = {
        { "\\Seen", MAILDIR_FLAG_SEEN },
        { "\\Answered", MAILDIR_FLAG_ANSWERED },
        { "\\Flagged", MAILDIR_FLAG_FLAGGED },
        { "\\Deleted", MAILDIR_FLAG_DELETED },
        { "\\Draft", MAILDIR_FLAG_DRAFT },
};
#define NSYSTEM (sizeof(system_flags) / sizeof(system_flags[0]))

static noreturn void die(const struct status *st, const char *what)
{
        fprintf(stderr, "maildir_tool: %s: %s %s\n", what, st->code, st->text);
        exit(1);
}

static noreturn void usage(void)
{
        fprintf(stderr, "usage: maildir_tool ROOT create|subscribe|deliver|append|"
                        "store|expunge|copy|move|dump ...\n");
        exit(1);
}

/* parse_flags - split FLAG arguments into system flags and keywords */
static void parse_flags(int argc, char **argv, uint32_t *flags_r,
                        const char **kw, size_t *nkw)
{
        *flags_r = 0;
        *nkw = 0;
        for (int i = 0; i < argc; i++) {
                size_t k;
                for (k = 0; k < NSYSTEM; k++) {
                        if (strcasecmp(argv[i], system_flags[k].name) == 0) {
                                *flags_r |= system_flags[k].flag;
                                break;
                        }
                }
                if (k == NSYSTEM)
                        kw[(*nkw)++] = argv[i];
        }
}

static void read_stdin(struct buf *b)
{
        char chunk[65536];
        size_t n;

        while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
                buf_append(b, chunk, n);
}

static struct maildir_box *open_box(struct maildir *md, const char *name)
{
        struct maildir_box *box;
        struct status st;

        if (maildir_box_open(md, name, 0, &box, &st) < 0)
                die(&st, name);
        if (maildir_sync(box, NULL, &st) < 0)
                die(&st, name);
        return box;
}

static void dump_box(struct maildir *md, const char *name)
{
        struct maildir_box *box = open_box(md, name);
        struct status st;

        printf("folder\t%s\t%u\t%u\t%zu\n", name, maildir_box_uidvalidity(box),
               maildir_box_uidnext(box), maildir_box_count(box));
        for (size_t i = 0; i < maildir_box_count(box); i++) {
                struct maildir_msg_info info;
                uint32_t uid = maildir_box_uid(box, i);
                uint64_t vsize;
                if (maildir_msg_info(box, uid, &info) != 1 ||
                    maildir_msg_vsize(box, uid, &vsize, &st) != 1)
                        continue;
                printf("msg\t%s\t%u\t%llu", name, uid, (unsigned long long)vsize);
                for (size_t k = 0; k < NSYSTEM; k++) {
                        if (info.flags & system_flags[k].flag)
                                printf("\t%s", system_flags[k].name);
                }
                for (unsigned int b = 0; b < 26; b++) {
                        const char *kw = maildir_box_keyword(box, b);
                        if ((info.keywords & (1u << b)) && kw != NULL)
                                printf("\t%s", kw);
                }
                printf("\n");
        }
        maildir_box_close(&box);
}

int main(int argc, char **argv)
{
        struct maildir *md;
        struct status st;
        const char *kw[64];
        uint32_t flags;
        size_t nkw;

        if (argc < 3)
                usage();
        log_open("yubin", "maildir_tool", LOG_TO_STDERR, NULL);
        if (maildir_open(argv[1], MAILDIR_CREATE, &md, &st) < 0)
                die(&st, argv[1]);
        const char *cmd = argv[2];
        if (strcmp(cmd, "create") == 0 && argc == 4) {
                if (maildir_folder_create(md, argv[3], &st) < 0)
                        die(&st, "create");
        } else if (strcmp(cmd, "subscribe") == 0 && argc == 4) {
                if (maildir_subscribe(md, argv[3], 1, &st) < 0)
                        die(&st, "subscribe");
        } else if (strcmp(cmd, "deliver") == 0 && argc == 4) {
                struct buf b;
                char *name;
                buf_init(&b, 0);
                read_stdin(&b);
                if (maildir_deliver(md, argv[3], b.data, b.len, &name, &st) < 0)
                        die(&st, "deliver");
                printf("%s\n", name);
                free(name);
                buf_release(&b);
        } else if (strcmp(cmd, "append") == 0 && argc >= 5 && argc < 60) {
                struct maildir_box *box = open_box(md, argv[3]);
                struct maildir_save *sv;
                struct buf b;
                uint32_t uid = 0;
                parse_flags(argc - 5, argv + 5, &flags, kw, &nkw);
                buf_init(&b, 0);
                read_stdin(&b);
                if (maildir_save_begin(md, argv[3], &sv, &st) < 0 ||
                    maildir_save_write(sv, b.data, b.len, &st) < 0 ||
                    maildir_save_append(&sv, box, flags, kw, nkw,
                                        (time_t)strtoll(argv[4], NULL, 10),
                                        &uid, &st) < 0)
                        die(&st, "append");
                printf("%u\n", uid);
                buf_release(&b);
                maildir_box_close(&box);
        } else if (strcmp(cmd, "store") == 0 && argc >= 6 && argc < 60) {
                struct maildir_box *box = open_box(md, argv[3]);
                enum maildir_store_op op = argv[5][0] == '+' ? MAILDIR_STORE_ADD :
                                           argv[5][0] == '-' ? MAILDIR_STORE_REMOVE :
                                           MAILDIR_STORE_REPLACE;
                parse_flags(argc - 6, argv + 6, &flags, kw, &nkw);
                int r = maildir_msg_store(box, (uint32_t)strtoul(argv[4], NULL, 10),
                                          op, flags, kw, nkw, &st);
                if (r < 0)
                        die(&st, "store");
                if (r == 0)
                        fprintf(stderr, "maildir_tool: no such UID\n");
                maildir_box_close(&box);
                if (r == 0)
                        return 1;
        } else if (strcmp(cmd, "expunge") == 0 && argc == 5) {
                struct maildir_box *box = open_box(md, argv[3]);
                if (maildir_msg_expunge(box, (uint32_t)strtoul(argv[4], NULL, 10),
                                        &st) != 1)
                        die(&st, "expunge");
                maildir_box_close(&box);
        } else if ((strcmp(cmd, "copy") == 0 || strcmp(cmd, "move") == 0) &&
                   argc == 6) {
                struct maildir_box *src = open_box(md, argv[3]);
                struct maildir_box *dst = open_box(md, argv[5]);
                uint32_t uid = (uint32_t)strtoul(argv[4], NULL, 10), out;
                if (maildir_msg_copy(src, &uid, 1, dst, cmd[0] == 'm', &out,
                                     &st) != 1)
                        die(&st, cmd);
                printf("%u\n", out);
                maildir_box_close(&src);
                maildir_box_close(&dst);
        } else if (strcmp(cmd, "dump") == 0 && argc == 3) {
                struct maildir_folder *list;
                char **subs;
                size_t n;
                if (maildir_folder_list(md, &list, &n, &st) < 0)
                        die(&st, "list");
                for (size_t i = 0; i < n; i++) {
                        if (!(list[i].flags & MAILDIR_LIST_NONEXISTENT))
                                dump_box(md, list[i].name);
                }
                maildir_folder_list_free(&list, n);
                if (maildir_subscriptions(md, &subs, &n, &st) < 0)
                        die(&st, "subscriptions");
                for (size_t i = 0; i < n; i++)
                        printf("subscribed\t%s\n", subs[i]);
                maildir_subscriptions_free(&subs, n);
        } else {
                usage();
        }
        maildir_close(&md);
        return 0;
}
