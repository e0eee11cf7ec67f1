/* uidlist.h - Dovecot's dovecot-uidlist file: IMAP UIDs of Maildir files
 * Version 3 (written, and read): a header line
 *      3 V<uidvalidity> N<nextuid> G<mailbox guid, 32 hex digits> [Xvalue...]
 * then one line per message, in increasing UID order:
 *      <uid> [<A-Z key><value> ...] :<base file name>
 * where the base name is the file name without its ":2," info. Version 1
 * ("1 <uidvalidity> <nextuid>", then "<uid> <file name>") is read too.
 * Dovecot appends records under its lock without rewriting the header, so
 * the next UID is the larger of N and the last UID + 1. Unknown header and
 * record fields are kept and written back. The caller serialises writers
 * with dotlock on the uidlist path (dovecot-uidlist.lock). */
#ifndef YUBIN_UIDLIST_H
#define YUBIN_UIDLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "status.h"

#define UIDLIST_NAME            "dovecot-uidlist"
/* larger files are taken for corrupt */
#define UIDLIST_FILE_MAX        (512UL * 1024 * 1024)

struct uidlist_rec {
        uint32_t uid;
        char *ext;              /* extension fields as written, or NULL */
        char *name;             /* base file name */
};

struct uidlist {
        unsigned int version;   /* as read: 1 or 3; new lists are 3 */
        uint32_t uidvalidity;
        uint32_t next_uid;      /* UINT32_MAX: UID space used up */
        char guid[33];          /* 32 lower-case hex digits */
        char *hdr_ext;          /* unknown header fields, or NULL */
        int damaged;            /* lines were dropped while parsing */
        struct uidlist_rec *recs;       /* increasing uid */
        size_t count;
        size_t alloc;
        size_t *slots;          /* name hash: record index + 1, 0 empty */
        size_t nslots;
};

/* uidlist_new - an empty list: the given UIDVALIDITY, next UID 1 and a
 * random mailbox GUID; free with uidlist_free() */
struct uidlist *uidlist_new(uint32_t uidvalidity);

/* uidlist_free - free *ulp and clear it; accepts NULL */
void uidlist_free(struct uidlist **ulp);

/* uidlist_parse - parse a file's len bytes. Returns 0 and a new list, 1 and
 * a new list with damage (bad lines dropped, ul->damaged set; *error_r says
 * what, free with free()), or -1 if the header is unusable (*error_r). */
int uidlist_parse(const char *data, size_t len, struct uidlist **ul_r,
                  char **error_r);

/* uidlist_read - read the file at path. Returns 1 and a new list (damaged
 * lists also set *error_r), 0 if there is no usable file (*error_r NULL:
 * missing; else why it is corrupt), or -1 with st on I/O trouble. *sb_r
 * gets the file's stat when it was opened (may be NULL). */
int uidlist_read(const char *path, struct uidlist **ul_r, struct stat *sb_r,
                 char **error_r, struct status *st);

/* uidlist_format - the file contents; returns a new string, free with
 * free(); *len_r gets its length */
char *uidlist_format(const struct uidlist *ul, size_t *len_r);

/* uidlist_write - write path.tmp, fsync, rename over path, fsync the
 * directory. The caller holds the lock. 0, or -1 with st. */
int uidlist_write(const struct uidlist *ul, const char *path,
                  struct status *st);

/* uidlist_lookup - the record for a base name (len bytes), or NULL;
 * valid until the list changes */
const struct uidlist_rec *uidlist_lookup(const struct uidlist *ul,
                                         const char *name, size_t len);

/* uidlist_lookup_uid - the record with this UID, or NULL */
const struct uidlist_rec *uidlist_lookup_uid(const struct uidlist *ul,
                                             uint32_t uid);

/* uidlist_add - append a record for a base name (len bytes; borrowed,
 * copied) with optional extension fields ext (may be NULL). Returns the
 * new UID, or 0 if the UID space is used up (then a new UIDVALIDITY is
 * due). A name already present keeps its record and UID. */
uint32_t uidlist_add(struct uidlist *ul, const char *name, size_t len,
                     const char *ext);

/* uidlist_retain - keep only records i with keep[i] != 0 */
void uidlist_retain(struct uidlist *ul, const unsigned char *keep);

/* uidlist_rec_ext - the numeric value of extension field key (e.g. 'W');
 * 1 found, 0 absent or not a number */
int uidlist_rec_ext(const struct uidlist_rec *rec, char key,
                    uint64_t *value_r);

/* uidlist_hdr_has - 1 when the header has extension field key (an
 * upper-case letter other than V, N and G), else 0 */
int uidlist_hdr_has(const struct uidlist *ul, char key);

/* uidlist_hdr_set - set header extension field key to value (borrowed,
 * copied; no blanks), replacing an earlier one */
void uidlist_hdr_set(struct uidlist *ul, char key, const char *value);

/* uidlist_set_ext - set extension field key of record idx to value */
void uidlist_set_ext(struct uidlist *ul, size_t idx, char key,
                     uint64_t value);

#endif
