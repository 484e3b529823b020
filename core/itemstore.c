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

struct itemstore {
    const char *name;
    int opened;                  /* tried to make the file */
    int fd;                      /* -1: the bytes are in pending */
    unsigned long long flushed;  /* bytes in the file */
    buf pending;                 /* bytes after those (the write buffer, or everything in memory) */
};

static itemstore json_store = { "items", 0, -1, 0, { 0 } };
static itemstore id_store = { "ids", 0, -1, 0, { 0 } };

itemstore *itemstore_json(void) { return &json_store; }
itemstore *itemstore_ids(void) { return &id_store; }

static void die(itemstore *s, const char *what)
{
    fprintf(stderr, "awstopo: topology store (%s): %s: %s\n", s->name, what, strerror(errno));
    abort();
}

static void open_store(itemstore *s)
{
    s->opened = 1;
    const char *dir = getenv("TMPDIR");
    buf path = {0};
    buf_printf(&path, "%s/awstopo-%s-XXXXXX", dir && *dir ? dir : "/tmp", s->name);
    int fd = mkstemp(path.data);
    if (fd < 0 && dir && *dir) {
        buf_clear(&path);
        buf_printf(&path, "/tmp/awstopo-%s-XXXXXX", s->name);
        fd = mkstemp(path.data);
    }
    if (fd >= 0) unlink(path.data);   /* gone with the process, whatever happens */
    buf_free(&path);
    s->fd = fd;
}

static void write_all(itemstore *s, const char *data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(s->fd, data + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die(s, "write");
        done += (size_t)n;
    }
    s->flushed += len;
}

static void flush(itemstore *s)
{
    write_all(s, s->pending.data, s->pending.len);
    buf_clear(&s->pending);
}

unsigned long long itemstore_put(itemstore *s, const char *data, size_t len)
{
    if (!s->opened) open_store(s);
    if (s->fd >= 0 && s->pending.len + len > WRITE_BUFFER && s->pending.len) flush(s);
    unsigned long long off = s->flushed + s->pending.len;
    if (s->fd >= 0 && len > WRITE_BUFFER) {   /* a huge item goes straight to the file */
        write_all(s, data, len);
        return off;
    }
    buf_append(&s->pending, data, len);
    return off;
}

static void read_at(itemstore *s, char *out, size_t len, unsigned long long off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(s->fd, out + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die(s, "read");
        done += (size_t)n;
    }
}

const char *itemstore_get(itemstore *s, unsigned long long off, size_t len, buf *scratch)
{
    buf_clear(scratch);
    if (off >= s->flushed) {
        buf_append(scratch, s->pending.data + (off - s->flushed), len);
        return scratch->data;
    }
    buf_reserve(scratch, len);
    read_at(s, scratch->data, len, off);
    scratch->len = len;
    scratch->data[len] = '\0';
    return scratch->data;
}

void itemstore_read(itemstore *s, unsigned long long off, size_t len, char *out)
{
    size_t in_file = 0;
    if (off < s->flushed) {
        in_file = s->flushed - off < len ? (size_t)(s->flushed - off) : len;
        read_at(s, out, in_file, off);
    }
    if (in_file < len) memcpy(out + in_file, s->pending.data + (off + in_file - s->flushed), len - in_file);
}

void itemstore_read_all(itemstore *s, buf *out)
{
    buf_clear(out);
    buf_reserve(out, (size_t)(s->flushed + s->pending.len));
    if (s->flushed) read_at(s, out->data, (size_t)s->flushed, 0);
    out->len = (size_t)s->flushed;
    buf_append(out, s->pending.data ? s->pending.data : "", s->pending.len);
}

unsigned long long itemstore_size(itemstore *s)
{
    return s->flushed + s->pending.len;
}
