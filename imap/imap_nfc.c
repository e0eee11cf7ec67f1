/* imap_nfc.c - Unicode Normalization Form C, by GNU libunistring
 * Used by: imap_mbname.c; see imap_nfc.h. The text is checked to be
 * UTF-8 without NUL first (libunistring would take either), then
 * composed by u8_normalize(). Parses client input. */
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>
#include <unistr.h>

#include "imap_nfc.h"

int imap_nfc(const char *s, size_t len, struct buf *out)
{
        const uint8_t *in = (const uint8_t *)s;
        uint8_t *nfc;
        size_t nfc_len = 0;

        if (len > IMAP_NFC_MAX || memchr(s, '\0', len) != NULL ||
            u8_check(in, len) != NULL)
                return -1;
        nfc = u8_normalize(UNINORM_NFC, in, len, NULL, &nfc_len);
        if (nfc == NULL)
                return -1;
        buf_append(out, nfc, nfc_len);
        free(nfc);
        return 0;
}
