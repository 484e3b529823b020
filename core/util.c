/* util.c -- the helpers the core shares (see util.h). */
#include "util.h"

#include <ctype.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Room a read asks for beyond what the file's size says it needs: enough to
 * see the end of a regular file without growing the buffer once more. */
#define READ_SLACK 4096
#define READ_CHUNK 65536
/* zlib's windowBits for a gzip header and trailer instead of zlib's own. */
#define GZIP_WINDOW (15 + 16)

int set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- strings ---- */

/* Appends s itself (the list owns it from now on). */
static void strlist_push(strlist *l, char *s)
{
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->len++] = s;
}

void strlist_add(strlist *l, const char *s)
{
    strlist_push(l, xstrdup(s));
}

void strlist_addf(strlist *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    strlist_push(l, s);
}

void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->len; i++) free(l->items[i]);
    free(l->items);
    *l = (strlist){0};
}

int make_dirs(const char *path)
{
    char *p = xstrdup(path);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *q = '/';
    }
    int rc = mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- files ---- */

static void make_room(buf *b, size_t extra, int secret)
{
    if (secret) buf_reserve_secret(b, extra);
    else buf_reserve(b, extra);
}

/* Reads fd to its end into out (in place: no copies on the stack). */
static int read_fd(int fd, buf *out, int secret)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return -1;
    }
    size_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
    make_room(out, size + READ_SLACK, secret);
    out->data[out->len] = '\0';   /* a new block is not zeroed yet */
    for (;;) {
        if (out->cap - out->len - 1 == 0) make_room(out, READ_CHUNK, secret);
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) return 0;
        out->len += (size_t)n;
        out->data[out->len] = '\0';
    }
}

int read_file_at(int dirfd, const char *name, buf *out, int secret)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = read_fd(fd, out, secret);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int read_file(const char *path, buf *out, int secret)
{
    return read_file_at(AT_FDCWD, path, out, secret);
}

char *read_file_maybe_gz(const char *path, size_t *len)
{
    buf raw = {0};
    if (read_file(path, &raw, 0) != 0) {
        buf_free(&raw);
        return NULL;
    }
    if (raw.len >= 2 && (unsigned char)raw.data[0] == 0x1f && (unsigned char)raw.data[1] == 0x8b) {
        buf plain = {0};
        int rc = gzip_decompress(&plain, raw.data, raw.len, NULL, 0);
        buf_free(&raw);
        if (rc != 0) {
            buf_free(&plain);
            return NULL;
        }
        raw = plain;
    }
    if (len) *len = raw.len;
    return buf_steal(&raw);   /* an empty file still gives a string */
}

/* ---- gzip ---- */

void gzip_compress(buf *out, const void *data, size_t len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        fprintf(stderr, "awstopo: zlib deflateInit2 failed\n");
        abort();
    }
    buf_reserve(out, deflateBound(&z, (uLong)len) + 1);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    int rc;
    do {
        buf_reserve(out, READ_CHUNK);
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)(out->cap - out->len - 1);
        rc = deflate(&z, Z_FINISH);
        out->len = out->cap - 1 - z.avail_out;
    } while (rc == Z_OK);
    out->data[out->len] = '\0';
    deflateEnd(&z);
}

int gzip_decompress(buf *out, const void *data, size_t len, char *err, size_t errlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, GZIP_WINDOW) != Z_OK) {
        set_err(err, errlen, "zlib inflateInit2 failed");
        return -1;
    }
    size_t start = out->len;
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    int rc;
    do {
        buf_reserve(out, len * 4 + READ_CHUNK);
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)(out->cap - out->len - 1);
        rc = inflate(&z, Z_NO_FLUSH);
        out->len = out->cap - 1 - z.avail_out;
        if (rc == Z_STREAM_END && z.avail_in > 0 && inflateReset(&z) == Z_OK) rc = Z_OK;   /* the next member */
    } while (rc == Z_OK);
    int ok = rc == Z_STREAM_END && z.avail_in == 0;
    inflateEnd(&z);
    if (!ok) {
        out->len = start;
        if (out->data) out->data[out->len] = '\0';
        set_err(err, errlen, "not a complete gzip stream (%s)", rc == Z_STREAM_END ? "trailing bytes" : "corrupt or truncated");
        return -1;
    }
    out->data[out->len] = '\0';
    return 0;
}

size_t edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    size_t *row = xmalloc((nb + 1) * sizeof *row);
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = diag + (same ? 0 : 1);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[nb];
    free(row);
    return d;
}

const char *closest_name(const char *word, const char *const *candidates, size_t n)
{
    size_t limit = strlen(word) / 3, best_d = (size_t)-1;
    if (limit < 1) limit = 1;
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d > 0 && d <= limit && d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

long parse_duration(const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || d <= 0) return -1;
    if (*end == 'm') d *= 60, end++;
    else if (*end == 'h') d *= 3600, end++;
    else if (*end == 's') end++;
    if (*end || d < 1 || d > 30 * 86400) return -1;
    return (long)d;
}
