/* imap_fetch.h - FETCH: what the client asks for, and the answer
 * Used by: the imap session (FETCH and UID FETCH, imap_cmd.c's table)
 * and the fuzz target fuzz_imap_parser (imap_fetch_parse). Attributes
 * are RFC 9051 6.4.5 (with the RFC 3501 macros ALL, FAST, FULL and the
 * RFC822* items), BINARY (RFC 3516), MODSEQ and CHANGEDSINCE/VANISHED
 * (RFC 7162). Parses client arguments. */
#ifndef YUBIN_IMAP_FETCH_H
#define YUBIN_IMAP_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mime.h"
#include "status.h"

struct imap_arg;

enum imap_fetch_kind {
        IMAP_FETCH_FLAGS,
        IMAP_FETCH_UID,
        IMAP_FETCH_INTERNALDATE,
        IMAP_FETCH_SIZE,                /* RFC822.SIZE */
        IMAP_FETCH_ENVELOPE,
        IMAP_FETCH_BODY,                /* BODY without a section */
        IMAP_FETCH_BODYSTRUCTURE,
        IMAP_FETCH_MODSEQ,
        IMAP_FETCH_SECTION,             /* BODY[...], BINARY[...], RFC822* */
        IMAP_FETCH_BINARY_SIZE,
};

enum imap_section_text {
        IMAP_SECTION_ALL,               /* BODY[] or BODY[1.2] */
        IMAP_SECTION_HEADER,
        IMAP_SECTION_FIELDS,            /* HEADER.FIELDS */
        IMAP_SECTION_FIELDS_NOT,        /* HEADER.FIELDS.NOT */
        IMAP_SECTION_TEXT,
        IMAP_SECTION_MIME,
};

struct imap_fetch_item {
        enum imap_fetch_kind kind;
        /* SECTION and BINARY_SIZE */
        int peek;                       /* .PEEK, or RFC822.HEADER */
        int binary;                     /* BINARY[]: decoded */
        char *part;                     /* "1.2", or "" for the message */
        enum imap_section_text text;
        char **fields;                  /* HEADER.FIELDS names */
        size_t nfields;
        int partial;
        uint64_t offset, length;
        char *name;                     /* as the reply names it, e.g.
                                         * "BODY[HEADER.FIELDS (FROM)]" */
};

/* need flags of a request */
#define IMAP_FETCH_NEED_MAP     (1u << 0)       /* the message file */
#define IMAP_FETCH_NEED_MIME    (1u << 1)       /* its MIME tree */
#define IMAP_FETCH_SETS_SEEN    (1u << 2)       /* a non-PEEK body item */

struct imap_fetch_req {
        struct imap_fetch_item *items;
        size_t count;
        unsigned int need;
        uint64_t changedsince;          /* 0: none */
        int vanished;                   /* (VANISHED) modifier */
};

/* imap_fetch_parse - the FETCH arguments after the sequence set: the
 * attributes (one atom, or a list) and the optional modifier list.
 * 0 with *req (release with imap_fetch_req_release), or -1 with
 * *error_r (a static text for BAD). */
int imap_fetch_parse(const struct imap_arg *args, struct imap_fetch_req *req,
                     const char **error_r);
void imap_fetch_req_release(struct imap_fetch_req *req);
/* imap_fetch_has - 1 if the request has an item of kind */
int imap_fetch_has(const struct imap_fetch_req *req, enum imap_fetch_kind k);
/* imap_fetch_add - add a plain item (UID, MODSEQ, FLAGS) if missing */
void imap_fetch_add(struct imap_fetch_req *req, enum imap_fetch_kind k);

/* ---- message files (imap_fetch_body.c) ---- */

/* files up to this size are read into a buffer, larger ones mapped */
#define IMAP_MSG_READ_MAX       (256 * 1024)

struct maildir_box;

/* A message's bytes, read or mapped. */
struct imap_msg {
        const char *data;
        size_t len;
        void *map;                      /* mmap'd, or NULL */
        size_t map_len;
};

/* imap_msg_load - the file of uid: read into readbuf (borrowed, reused;
 * m->data points into it) or mapped. 1, 0 when the message is gone, -1
 * with st (unreadable: a directory, I/O error). Release with
 * imap_msg_unload. */
int imap_msg_load(struct maildir_box *box, uint32_t uid, struct buf *readbuf,
                  struct imap_msg *m, struct status *st);
void imap_msg_unload(struct imap_msg *m);

/* ---- section content (imap_fetch_body.c) ---- */

/* A byte range of a message read with every bare LF sent as CRLF, from
 * virtual offset skip on, at most left bytes. */
struct imap_crlf {
        const char *p, *end;
        uint64_t skip, left;
        int pending_lf;                 /* a CR went out, its LF not yet */
        int prev_cr;                    /* the last byte read was a CR */
};

void imap_crlf_init(struct imap_crlf *s, const char *data, size_t len,
                    uint64_t skip, uint64_t left);
/* imap_crlf_fill - append up to max bytes to out; 1 when the range is
 * exhausted, else 0 */
int imap_crlf_fill(struct imap_crlf *s, struct buf *out, size_t max);
/* imap_crlf_append - append data[0..len) with bare LFs made CRLF */
void imap_crlf_append(struct buf *out, const char *data, size_t len);

/* imap_decode_cte - append part content decoded per its
 * Content-Transfer-Encoding (cte NULL or "7bit"/"8bit"/"binary": as is,
 * lines CRLF except for binary; base64; quoted-printable): 0, or -1 for
 * an unknown encoding */
int imap_decode_cte(const char *cte, const char *data, size_t len,
                    struct buf *out);

/* imap_fetch_header_lines - append the header fields of hdr[0..len)
 * that are (not = 0) or are not (not = 1) among names (any case), CRLF
 * line ends, then the blank line (for .NOT only when the header has one
 * or a field went out, as Dovecot answers) */
void imap_fetch_header_lines(const char *hdr, size_t len, char *const *names,
                             size_t n, int not, struct buf *out);

#endif
