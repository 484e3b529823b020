/* buf.c -- growable byte buffer and abort-on-failure allocators (see buf.h). */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Linux 5.14; older headers lack the name, older kernels refuse it (EINVAL). */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static void out_of_memory(size_t n)
{
    fprintf(stderr, "awstopo: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) out_of_memory(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) out_of_memory(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) out_of_memory(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void secure_zero(void *p, size_t n)
{
    /* glibc's explicit_bzero is memset that the compiler may not drop as dead
     * stores; a volatile byte loop did the same at a byte a cycle, 2% of a
     * small AWS call's CPU (its signed request is wiped). */
    explicit_bzero(p, n);
}

void free_secret(char *s)
{
    if (!s) return;
    secure_zero(s, strlen(s));
    free(s);
}

void buf_reserve(buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_reserve_secret(buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    if (!b->data) {
        buf_reserve(b, extra);
        return;
    }
    buf bigger = {0};
    buf_reserve(&bigger, (b->len + extra) * 2);
    buf_append(&bigger, b->data, b->len);
    buf_wipe(b);
    *b = bigger;
}

/* A fresh page costs a fault when first written: about 16 us on a virtual
 * machine, three times what the kernel's filling it in costs when asked
 * for many pages at once (MADV_POPULATE_WRITE). Worth a call from 8 pages;
 * a kernel without it (before 5.14) refuses, and the pages fault as usual.
 * Pages already there are left as they are. */
void mem_populate(void *p, size_t n)
{
    static size_t page;
    if (!page) page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t to = ((uintptr_t)p + n) & ~(uintptr_t)(page - 1);
    if (to <= from || to - from < 8 * page) return;
    (void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
}

void buf_populate(buf *b, size_t n)
{
    mem_populate(b->data + b->len, n < b->cap - b->len ? n : b->cap - b->len);
}

void buf_append(buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_put_utf8(buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    buf_append(b, u, n);
}

void buf_putll(buf *b, long long v)
{
    char digits[24], *d = digits + sizeof digits;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do *--d = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--d = '-';
    buf_append(b, d, (size_t)(digits + sizeof digits - d));
}

void buf_vprintf(buf *b, const char *fmt, va_list ap)
{
    /* Try to format into the room we have; grow once and retry if short. */
    va_list copy;
    va_copy(copy, ap);
    buf_reserve(b, 64);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->data + b->len, room, fmt, copy);
    va_end(copy);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_clear(buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_wipe(buf *b)
{
    if (b->data) secure_zero(b->data, b->cap);
    buf_free(b);
}

void buf_wipe_grown(buf *b)
{
    if (b->data) secure_zero(b->data, b->len + 1);
    buf_free(b);
}

char *buf_steal(buf *b)
{
    char *p = b->data ? b->data : xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

const char *buf_cstr(buf *b)
{
    return b->data ? b->data : "";
}
