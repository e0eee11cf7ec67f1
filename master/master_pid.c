/* master_pid.c - one supervisor per configuration
 * Used by: yubin (start, stop, reload, status) and yubinctl (log reopen).
 * data_directory/master.pid holds the supervisor's pid under an exclusive
 * flock() for as long as it runs, so a stale file from a crash never
 * blocks a start and "running" means a live, locked holder. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "mem.h"

static int pid_fd = -1;
static char *pid_path;

static char *path_of(struct cfg *cfg)
{
        return xasprintf("%s/master.pid", cfg_get(cfg, "data_directory"));
}

static pid_t read_pid(int fd)
{
        char text[32];
        ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

        if (n <= 0)
                return 0;
        text[n] = '\0';
        long pid = strtol(text, NULL, 10);
        return pid > 0 ? (pid_t)pid : 0;
}

int master_pid_lock(struct cfg *cfg, pid_t *pid_r)
{
        char *path = path_of(cfg);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

        *pid_r = 0;
        if (fd < 0) {
                log_error("open %s: %m", path);
                free(path);
                return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK) {
                        *pid_r = read_pid(fd);
                        close(fd);
                        free(path);
                        return 1;
                }
                log_error("lock %s: %m", path);
                close(fd);
                free(path);
                return -1;
        }
        pid_fd = fd;
        free(pid_path);
        pid_path = path;
        return 0;
}

void master_pid_write(void)
{
        char text[32];
        int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

        if (pid_fd < 0)
                return;
        if (ftruncate(pid_fd, 0) < 0 || pwrite(pid_fd, text, (size_t)n, 0) != n)
                log_warn("write %s: %m", pid_path);
}

void master_pid_remove(void)
{
        if (pid_fd < 0)
                return;
        unlink(pid_path);
        close(pid_fd);
        pid_fd = -1;
        free(pid_path);
        pid_path = NULL;
}

pid_t master_pid_running(struct cfg *cfg)
{
        char *path = path_of(cfg);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        pid_t pid = 0;

        free(path);
        if (fd < 0)
                return 0;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
                pid = read_pid(fd);
        close(fd);
        return pid;
}
