/* queue_ctl.c - the administrator's requests to qmgr: the datagrams and
 * the blocking client
 * Used by: yubinctl queue (queue_ctl_call), qmgr (parsing requests,
 * formatting answers). The wire is described in queue_ctl.h. Runs as
 * mail_owner or the user of an unprivileged instance. */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue_ctl.h"
#include "queue_file.h"

#define CTL_MAGIC       "QUEUE "
#define CTL_FIELDS_MAX  5
#define CTL_SEQ_DIGITS  10

enum ctl_arg {
        ARG_ALL,
        ARG_SITE,
        ARG_ID,
};

/* the commands: name on the wire, argument shape */
static const struct {
        const char *name;
        enum queue_ctl_cmd cmd;
        enum ctl_arg arg;
} ctl_cmds[] = {
        { "flush", QUEUE_CTL_FLUSH, ARG_ALL },
        { "flush-site", QUEUE_CTL_FLUSH_SITE, ARG_SITE },
        { "flush-id", QUEUE_CTL_FLUSH_ID, ARG_ID },
        { "delete", QUEUE_CTL_DELETE, ARG_ID },
        { "hold", QUEUE_CTL_HOLD, ARG_ID },
        { "release", QUEUE_CTL_RELEASE, ARG_ID },
        { "requeue", QUEUE_CTL_REQUEUE, ARG_ID },
};
#define CTL_NCMDS       (sizeof(ctl_cmds) / sizeof(*ctl_cmds))

int queue_ctl_is_request(const char *data, size_t len)
{
        return len >= strlen(CTL_MAGIC) &&
               memcmp(data, CTL_MAGIC, strlen(CTL_MAGIC)) == 0;
}

const char *queue_ctl_cmd_name(enum queue_ctl_cmd cmd)
{
        for (size_t i = 0; i < CTL_NCMDS; i++)
                if (ctl_cmds[i].cmd == cmd)
                        return ctl_cmds[i].name;
        return "unknown";
}

/* site_ok - a domain: 1-253 letters, digits, '.', '-', '_'; no empty
 * label */
static int site_ok(const char *s)
{
        size_t len = strlen(s);

        if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.' ||
            strstr(s, "..") != NULL)
                return 0;
        for (const char *p = s; *p != '\0'; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
                      *p == '_'))
                        return 0;
        return 1;
}

static int arg_ok(enum ctl_arg kind, const char *arg)
{
        switch (kind) {
        case ARG_ALL:
                return strcmp(arg, "ALL") == 0;
        case ARG_SITE:
                return site_ok(arg);
        case ARG_ID:
                return queue_id_valid(arg);
        }
        return 0;
}

int queue_ctl_arg_ok(enum queue_ctl_cmd cmd, const char *arg)
{
        for (size_t i = 0; i < CTL_NCMDS; i++)
                if (ctl_cmds[i].cmd == cmd)
                        return strlen(arg) < QUEUE_CTL_ARG_MAX &&
                               arg_ok(ctl_cmds[i].arg, arg);
        return 0;
}

/* split - a datagram copied into line (NUL-terminated, printable ASCII
 * only) and cut at single spaces into at most max fields; the last field
 * keeps the rest of the line. Returns the number of fields, or -1. */
static int split(const char *data, size_t len, char *line, size_t size,
                 char **f, int max)
{
        int n = 0;
        char *p = line;

        if (len == 0 || len >= size)
                return -1;
        memcpy(line, data, len);
        line[len] = '\0';
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)line[i] < 0x20 ||
                    (unsigned char)line[i] > 0x7e)
                        return -1;
        while (n < max) {
                char *sp = n + 1 < max ? strchr(p, ' ') : NULL;

                if (*p == '\0' || *p == ' ')
                        return -1;      /* an empty field */
                f[n++] = p;
                if (sp == NULL)
                        break;
                *sp = '\0';
                p = sp + 1;
        }
        return n;
}

/* parse_seq - 1 to CTL_SEQ_DIGITS digits; 0, or -1 */
static int parse_seq(const char *s, unsigned long *seq_r)
{
        unsigned long v = 0;
        size_t n = 0;

        for (; *s >= '0' && *s <= '9'; s++, n++) {
                if (n == CTL_SEQ_DIGITS)
                        return -1;
                v = v * 10 + (unsigned long)(*s - '0');
        }
        if (n == 0 || *s != '\0')
                return -1;
        *seq_r = v;
        return 0;
}

/* parse_head - "QUEUE 1 <seq>" in the first three fields */
static int parse_head(char **f, int n, unsigned long *seq_r,
                      const char **error_r)
{
        char version[8];

        snprintf(version, sizeof(version), "%d", QUEUE_CTL_VERSION);
        if (n < 3 || strcmp(f[0], "QUEUE") != 0) {
                *error_r = "not a control request";
                return -1;
        }
        if (strcmp(f[1], version) != 0) {
                *error_r = "unsupported protocol version";
                return -1;
        }
        if (parse_seq(f[2], seq_r) < 0) {
                *error_r = "bad sequence number";
                return -1;
        }
        return 0;
}

int queue_ctl_req_parse(const char *data, size_t len,
                        struct queue_ctl_req *req_r, const char **error_r)
{
        char line[QUEUE_CTL_DATAGRAM_MAX], *f[CTL_FIELDS_MAX];
        int n = split(data, len, line, sizeof(line), f, CTL_FIELDS_MAX);

        if (n < 0) {
                *error_r = "malformed request";
                return -1;
        }
        if (parse_head(f, n, &req_r->seq, error_r) < 0)
                return -1;
        if (n != 5 || strchr(f[4], ' ') != NULL) {
                *error_r = "a request has a command and one argument";
                return -1;
        }
        for (size_t i = 0; i < CTL_NCMDS; i++) {
                if (strcmp(f[3], ctl_cmds[i].name) != 0)
                        continue;
                if (strlen(f[4]) >= sizeof(req_r->arg) ||
                    !arg_ok(ctl_cmds[i].arg, f[4])) {
                        *error_r = ctl_cmds[i].arg == ARG_ID ?
                                   "not a queue ID" :
                                   ctl_cmds[i].arg == ARG_SITE ?
                                   "not a domain name" : "expected ALL";
                        return -1;
                }
                req_r->cmd = ctl_cmds[i].cmd;
                snprintf(req_r->arg, sizeof(req_r->arg), "%s", f[4]);
                return 0;
        }
        *error_r = "unknown command";
        return -1;
}

size_t queue_ctl_req_format(const struct queue_ctl_req *req, char *out,
                            size_t size)
{
        for (size_t i = 0; i < CTL_NCMDS; i++) {
                int n;

                if (ctl_cmds[i].cmd != req->cmd)
                        continue;
                if (!arg_ok(ctl_cmds[i].arg, req->arg) ||
                    req->seq > 9999999999UL)
                        return 0;
                n = snprintf(out, size, "QUEUE %d %lu %s %s",
                             QUEUE_CTL_VERSION, req->seq, ctl_cmds[i].name,
                             req->arg);
                return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
        }
        return 0;
}

/* code_ok - "4.x.x" or "5.x.x", each part 1-3 digits */
static int code_ok(const char *c)
{
        int parts = 0, digits = 0;

        if (*c != '4' && *c != '5')
                return 0;
        for (; *c != '\0'; c++) {
                if (*c >= '0' && *c <= '9') {
                        if (++digits > 3)
                                return 0;
                } else if (*c == '.' && digits > 0) {
                        parts++;
                        digits = 0;
                } else {
                        return 0;
                }
        }
        return parts == 2 && digits > 0 && c[-1] != '.';
}

int queue_ctl_reply_parse(const char *data, size_t len,
                          struct queue_ctl_reply *rep_r)
{
        char line[QUEUE_CTL_DATAGRAM_MAX], *f[CTL_FIELDS_MAX];
        const char *error;
        int n = split(data, len, line, sizeof(line), f, 4);

        if (n != 4 || parse_head(f, n, &rep_r->seq, &error) < 0)
                return -1;
        status_clear(&rep_r->st);
        rep_r->count = 0;
        if (strncmp(f[3], "ok ", 3) == 0) {
                rep_r->result = QUEUE_CTL_OK;
                return parse_seq(f[3] + 3, &rep_r->count);
        }
        if (strncmp(f[3], "skip ", 5) == 0 && f[3][5] != '\0') {
                rep_r->result = QUEUE_CTL_SKIP;
                snprintf(rep_r->st.text, sizeof(rep_r->st.text), "%s",
                         f[3] + 5);
                return 0;
        }
        if (strncmp(f[3], "error ", 6) == 0) {
                char *code = f[3] + 6, *sp = strchr(code, ' ');

                if (sp == NULL || sp[1] == '\0')
                        return -1;
                *sp = '\0';
                if (!code_ok(code) || strlen(code) >= sizeof(rep_r->st.code))
                        return -1;
                rep_r->result = QUEUE_CTL_ERROR;
                snprintf(rep_r->st.code, sizeof(rep_r->st.code), "%s", code);
                snprintf(rep_r->st.text, sizeof(rep_r->st.text), "%s",
                         sp + 1);
                return 0;
        }
        return -1;
}

size_t queue_ctl_reply_format(const struct queue_ctl_reply *rep, char *out,
                              size_t size)
{
        const char *text = rep->st.text[0] != '\0' ? rep->st.text :
                           "no reason given";
        int n;

        switch (rep->result) {
        case QUEUE_CTL_OK:
                n = snprintf(out, size, "QUEUE %d %lu ok %lu",
                             QUEUE_CTL_VERSION, rep->seq, rep->count);
                break;
        case QUEUE_CTL_SKIP:
                n = snprintf(out, size, "QUEUE %d %lu skip %s",
                             QUEUE_CTL_VERSION, rep->seq, text);
                break;
        default:
                n = snprintf(out, size, "QUEUE %d %lu error %s %s",
                             QUEUE_CTL_VERSION, rep->seq,
                             code_ok(rep->st.code) ? rep->st.code :
                             STATUS_LOCAL_IO, text);
                break;
        }
        if (n < 0)
                n = 0;
        if ((size_t)n >= size)
                n = size > 0 ? (int)size - 1 : 0;
        for (int i = 0; i < n; i++)
                if ((unsigned char)out[i] < 0x20 ||
                    (unsigned char)out[i] > 0x7e)
                        out[i] = '?';
        return (size_t)n;
}

/* ms_now - the monotonic clock in milliseconds */
static long long ms_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int queue_ctl_call(const char *queue_dir, const struct queue_ctl_req *req,
                   int timeout_ms, struct queue_ctl_reply *rep_r,
                   struct status *st)
{
        char out[QUEUE_CTL_DATAGRAM_MAX], in[QUEUE_CTL_DATAGRAM_MAX];
        struct sockaddr_un to, me;
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
        size_t len = queue_ctl_req_format(req, out, sizeof(out));
        long long deadline = ms_now() + timeout_ms;
        int fd, n, ret = -1;

        if (len == 0)
                return status_set(st, STATUS_BAD_ARGS, "%s %s: malformed "
                                  "request", queue_ctl_cmd_name(req->cmd),
                                  req->arg);
        memset(&to, 0, sizeof(to));
        to.sun_family = AF_UNIX;
        n = snprintf(to.sun_path, sizeof(to.sun_path), "%s/%s", queue_dir,
                     QUEUE_NOTIFY_SOCKET);
        if (n < 0 || (size_t)n >= sizeof(to.sun_path))
                return status_set(st, STATUS_CONFIG, "%s/%s: path too long",
                                  queue_dir, QUEUE_NOTIFY_SOCKET);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return status_set(st, STATUS_LOCAL_IO, "socket: %m");
        /* an address of our own, so that qmgr can answer (autobind) */
        memset(&me, 0, sizeof(me));
        me.sun_family = AF_UNIX;
        if (bind(fd, (struct sockaddr *)&me, sizeof(sa_family_t)) < 0) {
                status_set(st, STATUS_LOCAL_IO, "bind: %m");
                goto out;
        }
        /* a qmgr too busy to read its socket must not hang us */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (sendto(fd, out, len, 0, (struct sockaddr *)&to,
                   sizeof(to)) < 0) {
                if (errno == ECONNREFUSED || errno == ENOENT)
                        ret = 0;
                else if (errno == EAGAIN || errno == EWOULDBLOCK)
                        status_set(st, STATUS_TEMP, "qmgr did not take the "
                                   "request in time");
                else
                        status_set(st, STATUS_LOCAL_IO, "send to %s: %m",
                                   to.sun_path);
                goto out;
        }
        for (;;) {
                struct pollfd pfd = { fd, POLLIN, 0 };
                struct sockaddr_un from;
                socklen_t fromlen = sizeof(from);
                long long left = deadline - ms_now();
                ssize_t got;

                if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
                        status_set(st, STATUS_TEMP, "qmgr did not answer "
                                   "within %d seconds", timeout_ms / 1000);
                        goto out;
                }
                memset(&from, 0, sizeof(from));
                got = recvfrom(fd, in, sizeof(in), 0,
                               (struct sockaddr *)&from, &fromlen);
                if (got < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        status_set(st, STATUS_LOCAL_IO, "receive: %m");
                        goto out;
                }
                /* only qmgr's socket may answer, and only this request */
                if (fromlen <= offsetof(struct sockaddr_un, sun_path) ||
                    strncmp(from.sun_path, to.sun_path,
                            sizeof(from.sun_path)) != 0)
                        continue;
                if (queue_ctl_reply_parse(in, (size_t)got, rep_r) < 0) {
                        status_set(st, STATUS_LOCAL_IO, "malformed answer "
                                   "from qmgr");
                        goto out;
                }
                if (rep_r->seq != req->seq)
                        continue;
                ret = 1;
                goto out;
        }
out:
        close(fd);
        return ret;
}
