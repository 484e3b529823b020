/* itemstore.c -- the topology's items on disk (see itemstore.h).
 *
 * Appends go through a 256 KiB write buffer, so emitting an item is a memcpy
 * and the file sees large writes; a read of bytes still in the buffer is
 * served from it.
 */
#include "itemstore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITE_BUFFER (256 * 1024)

static struct {
    int opened;                  /* tried to make the file */
    int fd;                      /* -1: the bytes are in mem */
    unsigned long long flushed;  /* bytes in the file */
    buf pending;                 /* bytes after those (the write buffer, or everything in memory) */
} S = { 0, -1, 0, { 0 } };

static void die(const char *what)
{
    fprintf(stderr, "awstopo: topology store: %s: %s\n", what, strerror(errno));
    abort();
}

static void open_store(void)
{
    S.opened = 1;
    const char *dir = getenv("TMPDIR");
    buf path = {0};
    buf_printf(&path, "%s/awstopo-items-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path.data);
    if (fd < 0 && dir && *dir) {
        buf_clear(&path);
        buf_puts(&path, "/tmp/awstopo-items-XXXXXX");
        fd = mkstemp(path.data);
    }
    if (fd >= 0) unlink(path.data);   /* gone with the process, whatever happens */
    buf_free(&path);
    S.fd = fd;
}

static void write_all(const char *data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(S.fd, data + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("write");
        done += (size_t)n;
    }
    S.flushed += len;
}

static void flush(void)
{
    write_all(S.pending.data, S.pending.len);
    buf_clear(&S.pending);
}

unsigned long long itemstore_put(const char *data, size_t len)
{
    if (!S.opened) open_store();
    if (S.fd >= 0 && S.pending.len + len > WRITE_BUFFER && S.pending.len) flush();
    unsigned long long off = S.flushed + S.pending.len;
    if (S.fd >= 0 && len > WRITE_BUFFER) {   /* a huge item goes straight to the file */
        write_all(data, len);
        return off;
    }
    buf_append(&S.pending, data, len);
    return off;
}

const char *itemstore_get(unsigned long long off, size_t len, buf *scratch)
{
    buf_clear(scratch);
    if (off >= S.flushed) {
        buf_append(scratch, S.pending.data + (off - S.flushed), len);
        return scratch->data;
    }
    buf_reserve(scratch, len);
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(S.fd, scratch->data + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("read");
        done += (size_t)n;
    }
    scratch->len = len;
    scratch->data[len] = '\0';
    return scratch->data;
}

unsigned long long itemstore_size(void)
{
    return S.flushed + S.pending.len;
}
