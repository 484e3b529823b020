/* shrink.c -- the shrink guard's memory (see shrink.h). */
#include "shrink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

#define STATE_DIR ".snapshots"

/* <spool>/.snapshots/<instance, %-escaped to one safe file name> */
static void state_path(buf *p, const char *spool_dir, const char *instance)
{
    buf_printf(p, "%s/" STATE_DIR "/", spool_dir);
    for (const unsigned char *s = (const unsigned char *)instance; *s; s++) {
        int safe = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                   *s == '-' || *s == '_' || (*s == '.' && s != (const unsigned char *)instance);
        if (safe) buf_printf(p, "%c", *s);
        else buf_printf(p, "%%%02X", *s);
    }
}

long shrink_last(const char *spool_dir, const char *instance)
{
    buf p = {0};
    state_path(&p, spool_dir, instance);
    FILE *f = fopen(p.data, "r");
    buf_free(&p);
    if (!f) return -1;
    long n = -1;
    if (fscanf(f, "components %ld", &n) != 1 || n < 0) n = -1;
    fclose(f);
    return n;
}

int shrink_remember(const char *spool_dir, const char *instance, size_t components, char *err, size_t errlen)
{
    buf dir = {0}, p = {0}, tmp = {0};
    buf_printf(&dir, "%s/" STATE_DIR, spool_dir);
    state_path(&p, spool_dir, instance);
    buf_printf(&tmp, "%s.%ld.tmp", p.data, (long)getpid());
    int rc = -1;
    if (mkdir(dir.data, 0700) != 0 && errno != EEXIST) {
        set_err(err, errlen, "cannot create %s: %s", dir.data, strerror(errno));
        goto out;
    }
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        set_err(err, errlen, "cannot write %s: %s", tmp.data, strerror(errno));
        if (fd >= 0) close(fd);
        goto out;
    }
    int bad = fprintf(f, "components %zu\n", components) < 0;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp.data, p.data) != 0) {
        set_err(err, errlen, "cannot write %s: %s", p.data, strerror(errno));
        unlink(tmp.data);
        goto out;
    }
    rc = 0;
out:
    buf_free(&dir);
    buf_free(&p);
    buf_free(&tmp);
    return rc;
}

int shrink_too_small(size_t components, long last, double fraction)
{
    return last > 0 && fraction > 0 && (double)components < fraction * (double)last;
}
