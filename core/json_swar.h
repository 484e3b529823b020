/* json_swar.h -- JSON string bytes tested many at a time.
 *
 * The JSON writers (luajson.c, serialize_json.c) and readers (parse_json.c)
 * spend most of a string on bytes that need nothing: an id, a name, an ARN.
 * These tests look at a 64-bit word of them at once (SWAR), or 16 bytes with
 * SSE2 where the compiler has it; a block that has none of the special
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

/* How many bytes at the start of s[0..n) need no escaping in a JSON string,
 * 8 at a time. The last bytes (fewer than 8) are tested as one word too:
 * the 8 bytes that end the string when it has 8 (those before them are
 * known plain), else the tail padded with spaces. Most strings are short
 * keys and ids, and testing their tails a byte at a time cost more than
 * the words. */
static inline size_t json_plain_len_swar(const char *s, size_t n)
{
    size_t i = 0;
    uint64_t v;
    while (i + 8 <= n && (memcpy(&v, s + i, 8), !json_special8(v))) i += 8;
    if (i + 8 > n && i < n) {
        if (n >= 8) {
            memcpy(&v, s + n - 8, 8);
        } else {
            v = SWAR_ONES * ' ';
            memcpy(&v, s, n);
        }
        if (!json_special8(v)) return n;
    }
    while (i < n && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\') i++;
    return i;
}

#ifdef __SSE2__
#include <emmintrin.h>

/* The special bytes of the 16 at p, one bit each (bit k: p[k]). */
static inline unsigned json_special16(const char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);   /* v <= 0x1f */
    __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control));
}

/* With SSE2 (every x86-64): 16 bytes at a time, the first special one found
 * by its bit; a string of 16 or more ends with the 16 bytes that end it
 * (those before them are known plain). Shorter ones go 8 at a time. */
static inline size_t json_plain_len(const char *s, size_t n)
{
    if (n < 16) return json_plain_len_swar(s, n);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        unsigned bits = json_special16(s + i);
        if (bits) return i + (size_t)__builtin_ctz(bits);
    }
    if (i == n) return n;
    unsigned bits = json_special16(s + n - 16);
    return bits ? n - 16 + (size_t)__builtin_ctz(bits) : n;
}
#else
static inline size_t json_plain_len(const char *s, size_t n)
{
    return json_plain_len_swar(s, n);
}
#endif

#endif
