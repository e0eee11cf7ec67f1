/* addr_int.h - what addr.c, addr_list.c and addr_param.c share: character
 * classes and UTF-8 checking. Not for other modules: they use addr.h. */
#ifndef YUBIN_ADDR_INT_H
#define YUBIN_ADDR_INT_H

#include <stddef.h>

/* addr_is_atext - 1 if c is RFC 5322 atext (ASCII only) */
int addr_is_atext(unsigned char c);
/* addr_utf8_len - length of the well-formed UTF-8 sequence (2..4 bytes)
 * that starts at s (at most n bytes available), or 0 if there is none:
 * overlong forms, surrogates and values past U+10FFFF are refused */
size_t addr_utf8_len(const unsigned char *s, size_t n);
/* addr_domain_check - addr_domain_valid() on len bytes at s */
int addr_domain_check(const char *s, size_t len, int flags);

#endif
