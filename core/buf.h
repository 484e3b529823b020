/* buf.h -- a growable byte buffer.
 *
 * A buf owns a heap block of `cap` bytes of which the first `len` are used.
 * The byte after the used part is always kept 0 (when the block exists), so
 * `b.data` can be handed to functions wanting a C string whenever the content
 * has no NUL of its own. A zeroed buf ({0}) is a valid empty buffer.
 *
 * Allocation failure aborts the process: awstopo has no sensible way to go on
 * without memory, and checking every append would bury the logic.
 */
#ifndef AWSTOPO_BUF_H
#define AWSTOPO_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;   /* NULL until the first append */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated (len + 1 <= cap once data != NULL) */
} buf;

void buf_reserve(buf *b, size_t extra);               /* room for `extra` more bytes */
void buf_reserve_secret(buf *b, size_t extra);        /* the same; an outgrown block is wiped, not left to realloc */
void buf_append(buf *b, const void *p, size_t n);
/* Faults in the whole pages of p[0..n) (memory about to be written) with
 * one system call, from 8 pages up; see buf.c. */
void mem_populate(void *p, size_t n);
/* The same for the next n bytes of b's room (reserved, not yet written). */
void buf_populate(buf *b, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putll(buf *b, long long v);                  /* in decimal, as %lld (without printf's cost) */
void buf_put_utf8(buf *b, unsigned long cp);          /* code point cp (<= 0x10FFFF, no surrogate) as UTF-8 */
/* One byte; the common case (room left) inline. */
static inline void buf_putc(buf *b, char c)
{
    if (b->len + 1 >= b->cap) buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
void buf_clear(buf *b);                                /* len = 0, keeps the block */
void buf_free(buf *b);                                 /* frees the block, b becomes {0} */
void buf_wipe(buf *b);                                 /* zeroes the bytes, then frees (secrets) */
/* buf_wipe for a buf that only ever grew (never cleared or cut, so no byte
 * was written past len): zeroes the len bytes, not the untouched rest of
 * the block, whose pages a full wipe would fault in only to zero them. */
void buf_wipe_grown(buf *b);
char *buf_steal(buf *b);                               /* returns the block (caller frees), b becomes {0} */
const char *buf_cstr(buf *b);                          /* never NULL: "" for an empty buf */

/* Memory helpers that abort on failure (see above). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Overwrites n bytes with zeros in a way the compiler may not optimise away. */
void secure_zero(void *p, size_t n);
/* secure_zero(s, strlen(s)) then free(s); NULL is fine. */
void free_secret(char *s);

#endif
