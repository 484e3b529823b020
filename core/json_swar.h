/* json_swar.h -- JSON string bytes tested 8 at a time (SWAR).
 *
 * The JSON writers (luajson.c) and readers (parse_json.c) spend most of a
 * string on bytes that need nothing: an id, a name, an ARN. These tests look
 * at a 64-bit word of them at once; a word that has none of the special
 * bytes is copied or skipped whole, the others are handled byte by byte.
 */
#ifndef AWSTOPO_JSON_SWAR_H
#define AWSTOPO_JSON_SWAR_H

#include <stdint.h>
#include <string.h>

#define SWAR_ONES  0x0101010101010101ULL
#define SWAR_HIGHS 0x8080808080808080ULL

/* Does any of the 8 bytes in v end a plain run of a JSON string (< 0x20,
 * '"' or '\\')? The "has a byte less than" test of each, exact as a yes/no
 * (a false hit can only follow a true one in the same word). */
static inline int json_special8(uint64_t v)
{
    uint64_t quote = v ^ (SWAR_ONES * '"'), backslash = v ^ (SWAR_ONES * '\\');
    uint64_t control = (v - SWAR_ONES * 0x20) & ~v;
    return (((quote - SWAR_ONES) & ~quote) | ((backslash - SWAR_ONES) & ~backslash) | control) & SWAR_HIGHS ? 1 : 0;
}

/* Is any byte of v outside ASCII (part of a multi-byte UTF-8 sequence)? */
static inline int swar_non_ascii8(uint64_t v)
{
    return (v & SWAR_HIGHS) != 0;
}

/* How many bytes at the start of s[0..n) need no escaping in a JSON string. */
static inline size_t json_plain_len(const char *s, size_t n)
{
    size_t i = 0;
    uint64_t v;
    while (i + 8 <= n && (memcpy(&v, s + i, 8), !json_special8(v))) i += 8;
    while (i < n && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\') i++;
    return i;
}

#endif
