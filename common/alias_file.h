/* alias_file.h - aliases(5) files: entries, target lists, checking
 * Used by: map.c (hash:/btree:/texthash: tables opened with MAPS_ALIASES),
 * local / qmgr (splitting an alias value into targets), newaliases
 * (sendmail -bi, yubinctl newaliases: every problem reported as
 * file:line). Parses administrator files, not network input; still takes
 * any bytes.
 * Format, as Postfix's and Sendmail's: "name: value" entries; a line that
 * starts with white space continues the entry before it; blank lines and
 * lines whose first non-blank byte is '#' are skipped; the name may be
 * quoted ("a b": x); the value is a comma-separated list of targets:
 *   user  user@domain  "quoted, target"  |command  "|command with, commas"
 *   /file/name  :include:/path/name
 * Names are folded to lowercase; of duplicate names the first is used
 * (Postfix warns and does the same). */
#ifndef YUBIN_ALIAS_FILE_H
#define YUBIN_ALIAS_FILE_H

#include <stddef.h>

#include "status.h"

#define ALIAS_NAME_MAX          256     /* bytes of an alias name */
#define ALIAS_TARGETS_MAX       10000   /* targets in one value */

enum alias_target_kind {
        ALIAS_TARGET_ADDRESS,   /* user or user@domain */
        ALIAS_TARGET_COMMAND,   /* |command (the text after the |) */
        ALIAS_TARGET_FILE,      /* /file/name */
        ALIAS_TARGET_INCLUDE,   /* :include:/path (the path) */
};

/* alias_targets_split - split an alias value into its targets, in order:
 * commas separate targets outside double quotes; quotes are removed from a
 * target that is wholly quoted ("|cmd, x" gives |cmd, x) and white space
 * around each target is trimmed; empty targets are skipped. Returns 0
 * with a new NULL-terminated array of new strings in *targets_r (free with
 * alias_targets_free()) and the count in *count_r, or -1 with st (5.x.x:
 * unbalanced quote, empty list, NUL or control byte, too many). */
int alias_targets_split(const char *value, char ***targets_r, size_t *count_r,
                        struct status *st);
/* alias_targets_free - free an array from alias_targets_split(); clears
 * *targets; accepts NULL */
void alias_targets_free(char ***targets);

/* alias_target_kind - what a target from alias_targets_split() is; for
 * COMMAND, FILE and INCLUDE *arg_r points at the command, path, or path
 * inside target (borrowed), for ADDRESS at target itself */
enum alias_target_kind alias_target_kind(const char *target,
                                         const char **arg_r);

/* alias_file_parse - read the aliases(5) text (len bytes; path names it in
 * messages) and call entry(ctx, name, value, line) for each entry, name
 * folded to lowercase and unquoted, value as written with continuation
 * lines joined by one space (entry returns 0 to go on, -1 to stop: then
 * alias_file_parse returns -1 and leaves st as entry set it). Each problem
 * (missing colon, bad name, unbalanced quote, a value that does not
 * split, :include: without an absolute path, NUL bytes) is passed to
 * diag(ctx, "path:line: text") and reading goes on; with diag NULL the
 * first problem ends the parse. Duplicate names are not detected here (the
 * caller keeps the names). Returns the number of problems (0 = clean), or
 * -1 when entry stopped it or diag is NULL and there was a problem (st
 * holds "path:line: text", 4.3.5). */
int alias_file_parse(const char *path, const char *text, size_t len,
                     int (*entry)(void *ctx, const char *name,
                                  const char *value, int line),
                     void (*diag)(void *ctx, const char *text),
                     void *ctx, struct status *st);

/* alias_file_check - read the file at path and report every problem of
 * alias_file_parse() to diag (not NULL), plus each duplicate name as
 * "warning: path:line: duplicate alias ..." (a warning: the first entry
 * is used, as Postfix does; not counted). Returns the number of problems,
 * and the number of entries in *entries_r (may be NULL), or -1 with st
 * when the file cannot be read. */
int alias_file_check(const char *path,
                     void (*diag)(void *ctx, const char *text), void *ctx,
                     size_t *entries_r, struct status *st);

struct cfg;

/* alias_file_rebuild - what newaliases, sendmail -bi and yubinctl
 * newaliases do: check every hash:, btree: or texthash: file that
 * alias_database names, with alias_file_check(). Yubin reads alias files
 * as text and the daemons reload a changed file by themselves, so there is
 * no compiled form to write: rebuilding is checking, and it works whether
 * or not Yubin runs. Other table types have no file to build and are
 * skipped with a warning. Problems and warnings go to diag. Returns the
 * number of problems, or -1 with st when a file cannot be read or
 * alias_database is malformed (the other files are still checked). */
int alias_file_rebuild(struct cfg *cfg,
                       void (*diag)(void *ctx, const char *text), void *ctx,
                       struct status *st);

#endif
