/* map.h - lookup tables "type:name", as Postfix's dictionaries
 * Used by: smtpd (access and alias checks, mynetworks tables), qmgr and
 * local (alias_maps, virtual_alias_maps), resolve, inet_list, domain_list,
 * newaliases / yubinctl map check. Types:
 *   hash:PATH, btree:PATH   postmap's text source (key white-space value,
 *                           continuation lines start with white space,
 *                           # comments), read whole into a hash table in
 *                           memory; there is no compiled .db file
 *   texthash:PATH           the same format (Postfix's name for it)
 *   inline:{k=v, k2=v2}     the table in main.cf itself
 *   static:VALUE            every key finds VALUE
 *   cidr:PATH               "network/len value" lines, IPv4 and IPv6,
 *                           first match in file order; the key is an IP
 *   regexp:PATH, pcre:PATH  Postfix's regexp_table(5) / pcre_table(5)
 *                           rules (POSIX / PCRE2), first match in file
 *                           order, $1..$9 in results; also inline as
 *                           regexp:{ {/pattern/ result}, ... }
 *   sqlite:PATH             sqlite_table(5): dbpath, query with %s %u %d,
 *                           result_format
 * With MAPS_ALIASES the hash:, btree: and texthash: files are aliases(5)
 * files instead ("name: value", see alias_file.h). File tables are read
 * again when the file's inode, size or mtime changes (checked at most once
 * a second per table, on look-up); a file that no longer parses keeps the
 * old contents and logs a warning. Keys fold to lowercase (as Postfix's
 * hash tables do with postmap's default -f off) except for cidr:, whose
 * keys are addresses. Not thread-safe: one struct maps per thread.
 * Errors: -1 + status: 4.3.5 for a bad table (naming the main.cf parameter
 * and file:line), 4.4.3 when a table could not be read at look-up time. */
#ifndef YUBIN_MAP_H
#define YUBIN_MAP_H

#include <stddef.h>

#include "status.h"

#define MAPS_ALIASES    1       /* hash:, btree:, texthash: are aliases(5) */

#define MAP_KEY_MAX     1024    /* longer keys are never found */
#define MAP_FILE_MAX    (256 * 1024 * 1024)     /* bytes of one table file */

struct maps;

/* maps_open - open every table of list ("hash:/a, texthash:/b", commas
 * and/or white space, braces of inline:{...} kept together; "" gives an
 * empty list that finds nothing). param names the main.cf parameter for
 * messages ("alias_maps: unsupported table type 'foo:' in 'foo:/x'"; a
 * table's syntax errors read "/etc/aliases:12: ..."). Returns 0 with a new
 * struct in *maps_r (free with maps_free()), or -1 with st. */
int maps_open(const char *list, const char *param, int flags,
              struct maps **maps_r, struct status *st);

/* maps_lookup - look key up in each table in order; the first table that
 * has it wins. Returns 1 with *value_r (borrowed from m, valid until the
 * next call on m), 0 when no table has it, -1 with st (4.x.x) when a table
 * could not answer: that is "could not tell", never "not found". */
int maps_lookup(struct maps *m, const char *key, const char **value_r,
                struct status *st);

/* maps_lookup_source - as maps_lookup(), also giving in *source_r the
 * file the value came from (borrowed, as *value_r; NULL for inline: and
 * static:), so local delivery can run an alias's |command as the owner of
 * the alias file, as Postfix's local(8) does */
int maps_lookup_source(struct maps *m, const char *key, const char **value_r,
                       const char **source_r, struct status *st);

/* maps_count, maps_spec - the number of tables and the i-th one's
 * "type:name" as written (borrowed) */
size_t maps_count(const struct maps *m);
const char *maps_spec(const struct maps *m, size_t i);

/* maps_free - free *m and clear it; accepts NULL */
void maps_free(struct maps **m);

/* map_check - open spec ("type:name") once and report every problem:
 * for file tables each bad line is passed to diag (ctx, "path:line: text")
 * and reading goes on. Returns the number of problems (0: the table is
 * fine), or -1 with st when the table cannot be opened at all (unknown
 * type, missing file). Used by newaliases and yubinctl map check. */
int map_check(const char *spec, int flags,
              void (*diag)(void *ctx, const char *text), void *ctx,
              struct status *st);

/* map_list_next - the next item of a main.cf list value at *cpp (commas
 * and/or white space separate items; a { ... } group stays whole, as in
 * inline:{a=b, c=d}): 1 with the item in *item_r (a pointer into the
 * value) and *len_r, 0 at the end, -1 on an unbalanced '{' */
int map_list_next(const char **cpp, const char **item_r, size_t *len_r);

/* map_type_known - 1 if "type" (without the colon) is a table type this
 * build knows, else 0 */
int map_type_known(const char *type);

#endif
