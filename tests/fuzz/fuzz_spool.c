/* fuzz_spool.c -- the spool reader: an entry file as a crash, a full disk or
 * another program may have left it in the spool directory, read the way
 * delivery reads it (spool_open, spool_peek_oldest, gunzip, and the 413
 * split of what came out), then removed.
 * Input: the entry file's bytes. The directory is a private one under
 * /dev/shm (TMPDIR when there is none), removed at exit.
 * Checks: the entry is found and read back byte for byte, and the spool is
 * empty after spool_remove.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"
#include "intake.h"
#include "spool.h"
#include "util.h"

static char dir[256];
static char entry[300];

static void cleanup(void)
{
    char p[320];
    unlink(entry);
    snprintf(p, sizeof p, "%s/.lock", dir);
    unlink(p);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/awstopo-fuzz-spool.XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(entry, sizeof entry, "%s/00000000000000000001.json.gz", dir);
    atexit(cleanup);
    return 0;
}

static void write_entry(const uint8_t *data, size_t size)
{
    FILE *f = fopen(entry, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(entry);
        abort();
    }
}

/* What delivery does with an entry's bytes (sink_stackstate.c). */
static void deliver(const buf *gz)
{
    buf plain = {0}, a = {0}, b = {0};
    char err[512];
    size_t na, nb;
    if (gzip_decompress(&plain, gz->data, gz->len, err, sizeof err) == 0)
        intake_split(buf_cstr(&plain), plain.len, &a, &b, &na, &nb, err, sizeof err);
    buf_free(&plain);
    buf_free(&a);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_entry(data, size);
    char err[512] = "";
    spool *s = spool_open(dir, 0, err, sizeof err);
    fuzz_check(s != NULL, err);
    buf gz = {0};
    uint64_t seq = 0;
    int found = spool_peek_oldest(s, &gz, &seq, err, sizeof err);
    if (found == 1) {
        fuzz_check(seq == 1 && gz.len == size && (!size || memcmp(gz.data, data, size) == 0),
                   "the entry is read back as written");
        deliver(&gz);
        fuzz_check(spool_remove(s, seq, err, sizeof err) == 0, err);
        fuzz_check(spool_count(s) == 0, "the spool is empty after the remove");
    }
    buf_free(&gz);
    spool_close(s);
    unlink(entry);
    return 0;
}
