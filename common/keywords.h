/* keywords.h - Dovecot's dovecot-keywords file: IMAP keywords of a folder
 * Maildir file names carry keywords as the lower-case letters a-z after
 * the ":2," system flags; the letter is an index into this file, which holds
 * one "<index> <name>" line per keyword ('a' = 0). Indexes are never reused
 * for another name, so a letter keeps its meaning once written. New names
 * are added only by the holder of the folder's dovecot-uidlist lock, as
 * Dovecot does; the file is replaced through dovecot-keywords.lock. */
#ifndef YUBIN_KEYWORDS_H
#define YUBIN_KEYWORDS_H

#include <stddef.h>
#include <sys/stat.h>

#include "status.h"

#define KEYWORDS_NAME           "dovecot-keywords"
#define KEYWORDS_MAX            26
/* a longer keyword name is refused */
#define KEYWORDS_NAME_MAX       256

struct keywords {
        char *names[KEYWORDS_MAX];      /* NULL: letter unused */
};

/* keywords_new - an empty table; free with keywords_free() */
struct keywords *keywords_new(void);

/* keywords_free - free *kwp and clear it; accepts NULL */
void keywords_free(struct keywords **kwp);

/* keywords_parse - replace the table with the file contents (len bytes).
 * Malformed lines (no index, index >= 26, empty or duplicate name) are
 * skipped, as Dovecot skips them; returns how many were skipped. */
int keywords_parse(struct keywords *kw, const char *data, size_t len);

/* keywords_read - read path into a new table (*kw_r, always set on success;
 * empty when the file is missing). Returns 1 read, 0 missing, -1 with st.
 * *sb_r gets the file's stat when it exists (may be NULL). */
int keywords_read(const char *path, struct keywords **kw_r, struct stat *sb_r,
                  struct status *st);

/* keywords_index - the index (0-25) of name, or -1 if absent */
int keywords_index(const struct keywords *kw, const char *name);

/* keywords_name - the name at idx, or NULL; borrowed */
const char *keywords_name(const struct keywords *kw, unsigned int idx);

/* keywords_add - the index of name, adding it at the first free index if
 * absent; -1 when all 26 letters are taken. name is copied. */
int keywords_add(struct keywords *kw, const char *name);

/* keywords_name_valid - 1 if name can be an IMAP keyword (an atom, not
 * starting with '\', at most KEYWORDS_NAME_MAX bytes), else 0 */
int keywords_name_valid(const char *name);

/* keywords_format - the file contents; new string, free with free() */
char *keywords_format(const struct keywords *kw, size_t *len_r);

/* keywords_write - replace the file at path (via path.lock, fsynced, with
 * an mtime later than the old file's so that mtime-watching readers see
 * the change). The caller holds the folder's uidlist lock. 0 or -1 + st. */
int keywords_write(const struct keywords *kw, const char *path,
                   struct status *st);

#endif
