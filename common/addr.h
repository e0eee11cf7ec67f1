/* addr.h - mail addresses: RFC 5321 paths, RFC 5322 header lists, ESMTP
 * parameters
 * Used by: smtpd (MAIL/RCPT paths and their parameters), qmgr and local
 * (splitting, folding, recipient_delimiter), sendmail (header and command
 * line recipients), dsn (writing addresses out). Parses client input, so
 * every function takes any bytes and never reads past the NUL.
 *
 * The internal form is Postfix's: the local part unquoted ("a b"@x.org is
 * kept as a b@x.org; quotes come back only when the address is written out,
 * see addr_external()), the domain as given (address literals kept in their
 * brackets), "" for the null sender. Errors: -1 + status with a 5.x.x code
 * (STATUS_SYNTAX class) and a short text fit for an SMTP reply. */
#ifndef YUBIN_ADDR_H
#define YUBIN_ADDR_H

#include <stddef.h>

#include "status.h"

#define ADDR_MAX                1024    /* bytes of an internal address */
#define ADDR_LOCAL_MAX          256     /* RFC 5321 4.5.3.1.1 says 64; we
                                         * accept more, as Postfix does */
#define ADDR_PARAMS_MAX         32      /* ESMTP parameters after a path */

#define ADDR_NULL_OK    1       /* <> accepted (MAIL FROM) */
#define ADDR_UTF8       2       /* UTF-8 allowed (SMTPUTF8) */
#define ADDR_NO_BRACKETS 4      /* also accept a path without <> (Postfix's
                                 * strict_rfc821_envelopes = no); the path
                                 * then ends at the first white space */

/* addr_parse_path - the RFC 5321 Reverse-path or Forward-path at the start
 * of text (4.1.2): "<" [source route ":"] mailbox ">", or "<>" with
 * ADDR_NULL_OK. The source route (@a,@b:) is dropped (RFC 5321 C), quoted
 * local parts are unquoted, address literals [1.2.3.4] / [IPv6:...] are
 * checked and kept. Without ADDR_UTF8 any byte >= 0x80 is refused; with it,
 * well-formed UTF-8 is allowed in the local part and the domain. Control
 * characters and NUL are refused everywhere (a NUL ends text).
 * Returns 0 with a new string in *addr_r (free with free()) and in
 * *consumed_r the number of bytes used, including any white space after
 * the ">" (the rest are ESMTP parameters); or -1 with st. */
int addr_parse_path(const char *text, int flags, char **addr_r,
                    size_t *consumed_r, struct status *st);

/* addr_external - the address written out for SMTP and headers: the local
 * part quoted (with \ before " and \) when it is not a dot-atom (RFC 5321
 * 4.1.2); "" stays "". Returns a new string; free with free(). */
char *addr_external(const char *addr);

/* addr_split - split at the last '@': *local_r the local part as stored,
 * *domain_r the domain lowercased ("" when there is no '@'). Both new
 * strings; free with free(). Returns 0, or -1 (and nothing allocated) for
 * the null address "". */
int addr_split(const char *addr, char **local_r, char **domain_r);

/* addr_strip_extension - user+tag@d -> user@d: the local part is cut at the
 * first byte that is any of delimiters (recipient_delimiter; "" or NULL:
 * nothing is cut). A delimiter at the start of the local part is kept, as
 * Postfix does ("+x@d" stays). Returns a new string; free with free(). */
char *addr_strip_extension(const char *addr, const char *delimiters);

/* addr_extension - the extension that addr_strip_extension() would cut
 * (without its delimiter), or NULL when there is none; new string */
char *addr_extension(const char *addr, const char *delimiters);

/* addr_fold - lowercased copy (ASCII only; UTF-8 bytes stay), for look-ups;
 * free with free() */
char *addr_fold(const char *addr);

/* addr_qualify - a bare name ("root") gets "@origin" appended; an address
 * with a domain, "" and origin NULL/"" give a plain copy. New string. */
char *addr_qualify(const char *addr, const char *origin);

/* addr_domain_valid - 1 if text is a syntactically valid domain (dot-atom
 * of letters, digits and hyphens; with ADDR_UTF8 also UTF-8 labels) or an
 * address literal, else 0 */
int addr_domain_valid(const char *text, int flags);

/* ESMTP parameters: "KEY[=VALUE]" items separated by spaces (RFC 5321
 * 4.1.2 Mail-parameters / Rcpt-parameters). */
struct addr_param {
        char *key;      /* as given; compare with strcasecmp() */
        char *value;    /* as given, xtext not decoded; NULL when no '=' */
};

/* addr_esmtp_params - split text (what follows the path) into parameters.
 * Returns 0 with a new array of *count_r items in *params_r (free with
 * addr_esmtp_params_free(); NULL when there are none), or -1 with st for a
 * malformed item (bad key, empty or non-printable value, more than
 * ADDR_PARAMS_MAX). */
int addr_esmtp_params(const char *text, struct addr_param **params_r,
                      size_t *count_r, struct status *st);
/* addr_esmtp_params_free - free the array and clear *params */
void addr_esmtp_params_free(struct addr_param **params, size_t count);

/* addr_xtext_decode - RFC 3461 4: "+HH" hex escapes to bytes. Returns 0
 * with a new string in *out_r, or -1 if text is not valid xtext (or
 * decodes to a NUL or control byte). */
int addr_xtext_decode(const char *text, char **out_r);
/* addr_xtext_encode - the xtext form of text; new string */
char *addr_xtext_encode(const char *text);

/* addr_header_list - the mailbox addresses of an RFC 5322 address-list
 * (a To:, Cc:, Bcc: or From: value; obsolete forms, display names,
 * comments, groups and unfolded line breaks allowed), in internal form, in
 * order. Returns 0 with a new NULL-terminated array of new strings in
 * *addrs_r (free with addr_list_free()) and the count in *count_r, or -1
 * with st when the value is malformed (the array is then not allocated).
 * An empty group or an empty value gives 0 addresses. */
int addr_header_list(const char *value, char ***addrs_r, size_t *count_r,
                     struct status *st);
/* addr_list_free - free a NULL-terminated array of strings; clears *list */
void addr_list_free(char ***list);

#endif
