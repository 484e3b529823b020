/* lib.c -- helpers of fuzz.h, linked into every harness. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

void fuzz_first_line(const uint8_t *data, size_t size, const char **line, size_t *line_len,
                     const char **rest, size_t *rest_len)
{
    const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
    *line = (const char *)data;
    *line_len = nl ? (size_t)(nl - data) : size;
    *rest = nl ? (const char *)nl + 1 : (const char *)data + size;
    *rest_len = nl ? size - *line_len - 1 : 0;
}

void fuzz_file_open(fuzz_file *f, const char *name)
{
    f->fd = memfd_create(name, 0);
    if (f->fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

void fuzz_file_set(fuzz_file *f, const void *data, size_t len)
{
    if (ftruncate(f->fd, 0) != 0 || (len && pwrite(f->fd, data, len, 0) != (ssize_t)len)) {
        perror("fuzz_file_set");
        abort();
    }
}
