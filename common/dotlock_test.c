/* dotlock_test.c - lock files: contents as Dovecot writes them, waiting,
 * stale locks (old, or of a dead process here), locks of live or foreign
 * processes left alone, replacing, and mutual exclusion across processes */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dotlock.h"

static char dir[64];
static char path[128], lock_path[160];

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/dotlock_test.XXXXXX");
        if (mkdtemp(dir) == NULL)
                return -1;
        snprintf(path, sizeof(path), "%s/file", dir);
        snprintf(lock_path, sizeof(lock_path), "%s/file.lock", dir);
        return 0;
}

static int teardown(void **state)
{
        unlink(lock_path);
        unlink(path);
        rmdir(dir);
        return 0;
}

static void write_lock(const char *content, time_t age)
{
        FILE *f = fopen(lock_path, "w");
        fputs(content, f);
        fclose(f);
        struct timespec ts[2] = { { time(NULL) - age, 0 },
                                  { time(NULL) - age, 0 } };
        utimensat(AT_FDCWD, lock_path, ts, 0);
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_create_release(void **state)
{
        struct dotlock *lock;
        struct status st;
        char buf[512], want[512];

        assert_int_equal(dotlock_create(path, 5, 120, 0, &lock, &st), 0);
        FILE *f = fopen(lock_path, "r");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        snprintf(want, sizeof(want), "%ld:%s", (long)getpid(),
                 dotlock_hostname());
        assert_string_equal(buf, want);
        assert_int_equal(dotlock_touch(lock, &st), 0);
        assert_int_equal(dotlock_release(&lock, &st), 0);
        assert_null(lock);
        assert_int_equal(access(lock_path, F_OK), -1);
        assert_int_equal(dotlock_release(&lock, &st), 0);       /* NULL ok */
}

static void test_held_lock_times_out(void **state)
{
        struct dotlock *lock, *lock2;
        struct status st;

        assert_int_equal(dotlock_create(path, 5, 120, 0, &lock, &st), 0);
        double t0 = now();
        assert_int_equal(dotlock_create(path, 1, 120, 0, &lock2, &st), -1);
        assert_true(now() - t0 >= 0.9);
        assert_null(lock2);
        assert_int_equal(status_class(&st), 4);
        assert_non_null(strstr(st.text, "timed out"));
        assert_int_equal(dotlock_release(&lock, &st), 0);
}

static void test_stale_locks(void **state)
{
        static const struct {
                const char *name;
                const char *content;    /* %ld = pid, %s = host */
                int pid_kind;           /* 0 dead child, 1 init (alive) */
                int other_host;
                time_t age;
                int want;               /* 0 taken over, -1 respected */
        } cases[] = {
                { "old by mtime", "", 1, 0, 300, 0 },
                { "dead pid here", "%ld:%s", 0, 0, 10, 0 },
                { "dead pid, too young to judge", "%ld:%s", 0, 0, 0, -1 },
                { "live pid here", "%ld:%s", 1, 0, 10, -1 },
                { "dead pid elsewhere", "%ld:%s", 0, 1, 10, -1 },
                { "junk content", "garbage", 0, 0, 10, -1 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                pid_t pid = 1;
                if (cases[i].pid_kind == 0) {
                        pid = fork();
                        if (pid == 0)
                                _exit(0);
                        waitpid(pid, NULL, 0);
                }
                char content[512];
                snprintf(content, sizeof(content), cases[i].content, (long)pid,
                         cases[i].other_host ? "elsewhere.example" :
                         dotlock_hostname());
                write_lock(content, cases[i].age);
                struct dotlock *lock;
                struct status st;
                int r = dotlock_create(path, 0, 120, 0, &lock, &st);
                if (r != cases[i].want)
                        fail_msg("case %s: got %d, want %d", cases[i].name, r,
                                 cases[i].want);
                if (r == 0)
                        dotlock_release(&lock, &st);
                unlink(lock_path);
        }
}

static void test_replace(void **state)
{
        struct dotlock *lock;
        struct status st;
        char buf[64];

        assert_int_equal(dotlock_create(path, 5, 30, DOTLOCK_REPLACE, &lock,
                                        &st), 0);
        assert_int_equal(write(dotlock_fd(lock), "new contents\n", 13), 13);
        assert_int_equal(dotlock_replace(&lock, &st), 0);
        assert_null(lock);
        assert_int_equal(access(lock_path, F_OK), -1);
        FILE *f = fopen(path, "r");
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        assert_string_equal(buf, "new contents\n");
}

static void test_taken_over(void **state)
{
        struct dotlock *lock;
        struct status st;

        assert_int_equal(dotlock_create(path, 5, 120, 0, &lock, &st), 0);
        unlink(lock_path);
        write_lock("someone else", 0);
        assert_int_equal(dotlock_release(&lock, &st), -1);
        assert_int_equal(access(lock_path, F_OK), 0);   /* theirs stays */
        unlink(lock_path);
}

/* four processes increment a counter file under the lock: no update lost */
static void test_mutual_exclusion(void **state)
{
        const int procs = 4, rounds = 150;
        FILE *f = fopen(path, "w");
        fputs("0\n", f);
        fclose(f);
        for (int p = 0; p < procs; p++) {
                if (fork() != 0)
                        continue;
                for (int r = 0; r < rounds; r++) {
                        struct dotlock *lock;
                        struct status st;
                        if (dotlock_create(path, 30, 120, 0, &lock, &st) < 0)
                                _exit(2);
                        FILE *g = fopen(path, "r+");
                        long v = 0;
                        if (fscanf(g, "%ld", &v) != 1)
                                _exit(3);
                        rewind(g);
                        fprintf(g, "%ld\n", v + 1);
                        fclose(g);
                        if (dotlock_release(&lock, &st) < 0)
                                _exit(4);
                }
                _exit(0);
        }
        for (int p = 0; p < procs; p++) {
                int status;
                wait(&status);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        f = fopen(path, "r");
        long v = 0;
        assert_int_equal(fscanf(f, "%ld", &v), 1);
        fclose(f);
        assert_int_equal(v, procs * rounds);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_held_lock_times_out, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_locks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
                cmocka_unit_test_setup_teardown(test_taken_over, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mutual_exclusion, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
