/* ctl.c - helpers every yubinctl command module uses
 * Used by: yubinctl.c and master/ctl_*.c. Messages in postconf's shape on
 * stderr, config-directory paths, whole-file reads, and loading main.cf
 * with every diagnostic printed. Runs as the invoking user. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "ctl.h"
#include "fileio.h"
#include "mem.h"
#include "status.h"

/* ctl_vmsg - one stderr line: "yubinctl: " severity text */
static void ctl_vmsg(const char *severity, const char *fmt, va_list ap)
{
        int saved_errno = errno;
        char text[2048];

        errno = saved_errno;    /* so %m names the caller's error */
        vsnprintf(text, sizeof(text), fmt, ap);
        fflush(stdout);         /* keep stdout and stderr in order on a tty */
        fprintf(stderr, "%s: %s%s\n", CTL_PROGNAME, severity, text);
        errno = saved_errno;
}

void ctl_warn(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        ctl_vmsg("warning: ", fmt, ap);
        va_end(ap);
}

void ctl_error(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        ctl_vmsg("error: ", fmt, ap);
        va_end(ap);
}

void ctl_debug(const struct ctl *ctl, const char *fmt, ...)
{
        va_list ap;

        if (ctl == NULL || ctl->verbose == 0)
                return;
        va_start(ap, fmt);
        ctl_vmsg("", fmt, ap);
        va_end(ap);
}

char *ctl_path(const struct ctl *ctl, const char *file)
{
        size_t n = strlen(ctl->config_dir);

        /* "DIR/" and "DIR" name the same place; avoid "DIR//main.cf" */
        if (n > 1 && ctl->config_dir[n - 1] == '/')
                n--;
        return xasprintf("%.*s/%s", (int)n, ctl->config_dir, file);
}

int ctl_read_file(const char *path, struct buf *out, struct status *st)
{
        return fileio_read(path, CTL_FILE_MAX, out, st);
}

size_t ctl_print_diags(const struct cfg *c, size_t first)
{
        size_t errors = 0;
        int error;

        for (size_t i = first; i < cfg_diag_count(c); i++) {
                const char *text = cfg_diag(c, i, &error);

                if (error) {
                        ctl_error("%s", text);
                        errors++;
                } else {
                        ctl_warn("%s", text);
                }
        }
        return errors;
}

struct cfg *ctl_cfg_load(const struct ctl *ctl, size_t *errors_r)
{
        struct cfg *c = cfg_new(ctl->config_dir);
        char *path = ctl_path(ctl, "main.cf");

        /* a missing main.cf is recorded as an error by cfg_read_main();
         * checking still reports what the defaults make of it */
        cfg_read_main(c, path);
        cfg_check(c);
        *errors_r = ctl_print_diags(c, 0);
        free(path);
        return c;
}
