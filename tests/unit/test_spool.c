/* test_spool.c -- the durable payload FIFO: order, reopen, bound, crash leftovers, lock, gzip,
 * staging (all or nothing) and setting refused payloads aside. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "testlib.h"
#include "util.h"

static char root[] = "/tmp/awstopo-test-spool.XXXXXX";

static void rm_rf(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) printf("could not remove %s\n", path);
}

static int exists(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static int count_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t a = strlen(de->d_name), b = strlen(suffix);
        if (a >= b && strcmp(de->d_name + a - b, suffix) == 0) n++;
    }
    if (d) closedir(d);
    return n;
}

static void write_file(const char *dir, const char *name, const char *content)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(content, f);
    fclose(f);
}

/* One payload as its own batch: what spool_push was (staging is the one way in). */
static int spool_push(spool *s, const void *data, size_t len, char *err, size_t errlen)
{
    if (spool_stage(s, data, len, err, errlen) != 0) {
        spool_discard(s);
        return -1;
    }
    return spool_commit(s, err, errlen);
}

static int push_str(spool *s, const char *str)
{
    char err[256];
    int rc = spool_push(s, str, strlen(str), err, sizeof err);
    if (rc != 0) printf("push: %s\n", err);
    return rc;
}

/* Peeks the oldest and checks it is want (and its sequence). */
static void expect_oldest(spool *s, const char *want, uint64_t want_seq)
{
    buf b = {0};
    uint64_t seq = 0;
    char err[256];
    int rc = spool_peek_oldest(s, &b, &seq, err, sizeof err);
    CHECK(rc == 1, "peek: %d", rc);
    CHECK_STR(buf_cstr(&b), want);
    CHECK(seq == want_seq, "seq %llu, want %llu", (unsigned long long)seq, (unsigned long long)want_seq);
    buf_free(&b);
}

static void test_order_across_reopen(void)
{
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/a/b/spool/", root);   /* parents created; trailing '/' fine */
    spool *s = spool_open(dir, 0, err, sizeof err);
    CHECK(s != NULL, "open: %s", err);
    if (!s) return;
    CHECK(spool_max_bytes(s) == SPOOL_DEFAULT_MAX_BYTES, "default bound");
    CHECK(spool_count(s) == 0, "new spool is empty");
    buf b = {0};
    uint64_t seq;
    CHECK(spool_peek_oldest(s, &b, &seq, err, sizeof err) == 0, "peek on empty");
    CHECK(push_str(s, "one") == 0 && push_str(s, "two") == 0 && push_str(s, "three") == 0, "3 pushes");
    CHECK(spool_count(s) == 3 && spool_bytes(s) == 11, "count %zu bytes %zu", spool_count(s), spool_bytes(s));
    snprintf(dir, sizeof dir, "%s/a/b/spool", root);
    CHECK(exists(dir, "00000000000000000001.json.gz") && exists(dir, "00000000000000000003.json.gz"), "entry names");
    CHECK(exists(dir, ".lock"), "lock file");
    struct stat st;
    char p[600];
    snprintf(p, sizeof p, "%s/00000000000000000001.json.gz", dir);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "entries are private: %o", st.st_mode & 0777);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "spool dir is private: %o", st.st_mode & 0777);
    expect_oldest(s, "one", 1);
    expect_oldest(s, "one", 1);   /* peek does not consume */
    CHECK(spool_remove(s, 1, err, sizeof err) == 0, "remove");
    CHECK(!exists(dir, "00000000000000000001.json.gz"), "file gone");
    expect_oldest(s, "two", 2);
    spool_close(s);

    s = spool_open(dir, 0, err, sizeof err);
    CHECK(s && spool_count(s) == 2, "reopened with 2 entries");
    if (!s) return;
    expect_oldest(s, "two", 2);
    CHECK(push_str(s, "four") == 0, "push after reopen");
    CHECK(exists(dir, "00000000000000000004.json.gz"), "sequence continues from the highest entry");
    const char *want[] = { "two", "three", "four" };
    for (int i = 0; i < 3; i++) {
        expect_oldest(s, want[i], (uint64_t)i + 2);
        spool_remove(s, (uint64_t)i + 2, err, sizeof err);
    }
    CHECK(spool_count(s) == 0 && spool_bytes(s) == 0, "drained");
    CHECK(spool_peek_oldest(s, &b, &seq, err, sizeof err) == 0, "empty again");
    buf_free(&b);
    spool_close(s);
}

static void test_size_bound(void)
{
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/bound", root);
    spool *s = spool_open(dir, 1000, err, sizeof err);
    if (!s) return;
    char big[601];
    memset(big, 'p', 600);
    big[600] = 0;
    CHECK(spool_push(s, big, 600, err, sizeof err) == 0, "first fits");
    CHECK(spool_fits(s, 400, NULL, 0) && !spool_fits(s, 401, NULL, 0), "fits up to the bound exactly");
    err[0] = 0;
    CHECK(spool_push(s, big, 600, err, sizeof err) == -1, "second does not fit");
    char want[1024];
    snprintf(want, sizeof want,
             "spool %s is full (0.000572 MiB of 0.000954 MiB): payload not accepted \xe2\x80\x94 "
             "is the StackState receiver reachable?", dir);
    CHECK_STR(err, want);
    CHECK(spool_count(s) == 1 && count_suffix(dir, ".json.gz") == 1 && count_suffix(dir, ".tmp") == 0,
          "nothing written for the refused payload");
    spool_close(s);

    snprintf(dir, sizeof dir, "%s/bound2", root);
    s = spool_open(dir, (size_t)3 << 20, err, sizeof err);
    char *mib = malloc((size_t)2 << 20);
    memset(mib, 'x', (size_t)2 << 20);
    CHECK(spool_push(s, mib, (size_t)2 << 20, err, sizeof err) == 0, "2 MiB in");
    CHECK(!spool_fits(s, (size_t)2 << 20, err, sizeof err), "2 more MiB do not fit");
    CHECK(strstr(err, "is full (2.0 MiB of 3.0 MiB)") != NULL, "MiB figures: %s", err);
    free(mib);
    spool_close(s);
}

static void test_tmp_cleanup(void)
{
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/tmp", root);
    spool *s = spool_open(dir, 0, err, sizeof err);
    if (!s) return;
    push_str(s, "kept");
    spool_close(s);
    char live[64], old_live[64];
    snprintf(live, sizeof live, "%ld-7.tmp", (long)getppid());      /* a running writer */
    snprintf(old_live, sizeof old_live, "%ld-8.tmp", (long)getppid());
    write_file(dir, "2147483646-1.tmp", "half a payl");               /* a writer that is gone */
    write_file(dir, "junk.tmp", "x");
    write_file(dir, live, "in progress");
    write_file(dir, old_live, "stuck");
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, old_live);
    struct timespec times[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
    utimensat(AT_FDCWD, p, times, 0);
    write_file(dir, "notes.txt", "not an entry");
    write_file(dir, "123.json.gz", "not an entry either (short name)");

    s = spool_open(dir, 0, err, sizeof err);
    CHECK(s != NULL, "reopen");
    if (!s) return;
    CHECK(!exists(dir, "2147483646-1.tmp") && !exists(dir, "junk.tmp"), "stale .tmp files deleted");
    CHECK(!exists(dir, old_live), "an hour-old .tmp is deleted even if its pid runs");
    CHECK(exists(dir, live), "a .tmp of a running writer is kept");
    CHECK(exists(dir, "notes.txt"), "other files untouched");
    CHECK(spool_count(s) == 1, "only real entries indexed: %zu", spool_count(s));
    expect_oldest(s, "kept", 1);
    spool_close(s);
}

static void test_crash_leftovers(void)
{
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/crash", root);
    spool *s = spool_open(dir, 0, err, sizeof err);
    if (!s) return;
    push_str(s, "a");
    push_str(s, "b");
    CHECK(count_suffix(dir, ".tmp") == 0, "no .tmp left after pushes");
    spool_close(s);
    /* A crash between link and unlink: the entry and its .tmp name both exist. */
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/00000000000000000002.json.gz", dir);
    snprintf(dst, sizeof dst, "%s/2147483646-0.tmp", dir);
    CHECK(link(src, dst) == 0, "simulated crash");
    s = spool_open(dir, 0, err, sizeof err);
    CHECK(s && spool_count(s) == 2 && count_suffix(dir, ".tmp") == 0, "entry kept, .tmp gone");
    if (!s) return;
    expect_oldest(s, "a", 1);
    spool_remove(s, 1, err, sizeof err);
    expect_oldest(s, "b", 2);
    spool_close(s);
}

static void test_two_writers(void)
{
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/shared", root);
    spool *a = spool_open(dir, 0, err, sizeof err);
    spool *b = spool_open(dir, 0, err, sizeof err);
    if (!a || !b) return;
    /* Both think the next sequence is 1: the second must not replace the first. */
    push_str(a, "from a");
    push_str(b, "from b");
    push_str(a, "from a again");
    CHECK(count_suffix(dir, ".json.gz") == 3, "three distinct entries");
    spool *c = spool_open(dir, 0, err, sizeof err);
    expect_oldest(c, "from a", 1);
    spool_remove(c, 1, err, sizeof err);
    expect_oldest(c, "from b", 2);
    spool_remove(c, 2, err, sizeof err);
    expect_oldest(c, "from a again", 3);

    /* a's index still lists 1 and 2, removed by c: peek skips them. */
    expect_oldest(a, "from a again", 3);
    spool_remove(a, 3, err, sizeof err);
    /* b knows nothing new; peek looks at the directory when its index is empty. */
    push_str(c, "late");
    buf x = {0};
    uint64_t seq;
    CHECK(spool_peek_oldest(b, &x, &seq, err, sizeof err) == 1 && strcmp(buf_cstr(&x), "late") == 0,
          "peek finds entries of other writers");
    buf_free(&x);

    /* The delivery lock is exclusive between spool handles (and so processes). */
    CHECK(spool_lock(a, 0, err, sizeof err) == 1, "a locks");
    CHECK(spool_lock(b, 0, err, sizeof err) == 0, "b does not get it");
    CHECK(spool_lock(a, 0, err, sizeof err) == 1, "a holds it (idempotent)");
    spool_unlock(a);
    CHECK(spool_lock(b, 0, err, sizeof err) == 1, "b gets it after a let go");
    spool_close(b);   /* closing drops it */
    CHECK(spool_lock(c, 1, err, sizeof err) == 1, "c gets it, waiting");
    CHECK(spool_count(c) == 1, "lock re-reads the directory: %zu", spool_count(c));
    spool_close(a);
    spool_close(c);
}

/* Batches of two writers stay whole: a committed after b's deliveries left
 * gaps at the front must still go after b's newest entry. */
static void test_batches_stay_whole(void)
{
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/batches", root);
    spool *a = spool_open(dir, 0, err, sizeof err);
    spool *b = spool_open(dir, 0, err, sizeof err);
    if (!a || !b) return;
    for (int i = 0; i < 3; i++) spool_stage(b, "b", 1, err, sizeof err);
    CHECK(spool_commit(b, err, sizeof err) == 0, "b commits 3");
    spool_remove(b, 1, err, sizeof err);          /* b delivers two: 1 and 2 are free again */
    spool_remove(b, 2, err, sizeof err);
    spool_stage(a, "a1", 2, err, sizeof err);
    spool_stage(a, "a2", 2, err, sizeof err);
    CHECK(spool_commit(a, err, sizeof err) == 0, "a commits 2");
    spool *c = spool_open(dir, 0, err, sizeof err);
    expect_oldest(c, "b", 3);
    spool_remove(c, 3, err, sizeof err);
    expect_oldest(c, "a1", 4);
    spool_remove(c, 4, err, sizeof err);
    expect_oldest(c, "a2", 5);
    spool_close(a);
    spool_close(b);
    spool_close(c);
}

static void test_gzip(void)
{
    const char *text = "{\"components\":[{\"externalId\":\"arn:aws:ec2:eu-west-1:1:instance/i-1\"}]}";
    buf gz = {0}, out = {0};
    gzip_compress(&gz, text, strlen(text));
    CHECK(gz.len > 18 && (unsigned char)gz.data[0] == 0x1f && (unsigned char)gz.data[1] == 0x8b, "gzip magic");
    char err[128];
    CHECK(gzip_decompress(&out, gz.data, gz.len, err, sizeof err) == 0, "round trip: %s", err);
    CHECK_STR(buf_cstr(&out), text);
    buf_clear(&out);
    CHECK(gzip_decompress(&out, gz.data, gz.len - 5, err, sizeof err) == -1, "truncated stream refused");
    CHECK(out.len == 0, "nothing appended on failure");
    CHECK(gzip_decompress(&out, "plain text", 10, err, sizeof err) == -1, "not gzip refused");
    buf_free(&gz);

    /* A big, compressible payload. */
    size_t n = 5u << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = "abcdefgh{}\","[i % 12];
    gzip_compress(&gz, big, n);
    CHECK(gz.len < n / 10, "compresses: %zu", gz.len);
    buf_clear(&out);
    CHECK(gzip_decompress(&out, gz.data, gz.len, err, sizeof err) == 0 && out.len == n && memcmp(out.data, big, n) == 0,
          "big round trip");
    free(big);
    buf_free(&gz);
    buf_free(&out);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return buf_steal(&b);
}

static void test_staging(void)
{
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/stage", root);
    spool *s = spool_open(dir, 1000, err, sizeof err);
    if (!s) return;
    CHECK(push_str(s, "old") == 0, "an entry before the batch");
    spool *other = spool_open(dir, 1000, err, sizeof err);   /* opened first: it cleans up .tmp files */

    /* Staged payloads are no entries until the commit, then come in order. */
    CHECK(spool_stage(s, "b1", 2, err, sizeof err) == 0 && spool_stage(s, "b2", 2, err, sizeof err) == 0 &&
              spool_stage(s, "b3", 2, err, sizeof err) == 0, "3 staged: %s", err);
    CHECK(spool_staged(s) == 3 && spool_count(s) == 1, "staged %zu, entries %zu", spool_staged(s), spool_count(s));
    CHECK(count_suffix(dir, ".json.gz") == 1 && count_suffix(dir, ".tmp") == 3, "on disk as .tmp files");
    CHECK(spool_rescan(s, err, sizeof err) == 0 && spool_count(s) == 1 && spool_staged(s) == 3,
          "not entries when the directory is read again");
    CHECK(!spool_fits(s, 1000 - 3 - 6 + 1, NULL, 0) && spool_fits(s, 1000 - 3 - 6, NULL, 0), "staged bytes count for the bound");
    CHECK(other && push_str(other, "between") == 0, "a push meanwhile (another process)");
    spool_close(other);
    CHECK(spool_commit(s, err, sizeof err) == 0, "commit: %s", err);
    CHECK(spool_staged(s) == 0 && spool_count(s) == 5 && count_suffix(dir, ".tmp") == 0, "committed: %zu entries",
          spool_count(s));
    expect_oldest(s, "old", 1);
    spool_remove(s, 1, err, sizeof err);
    expect_oldest(s, "between", 2);
    spool_remove(s, 2, err, sizeof err);
    for (int i = 0; i < 3; i++) {
        char want[3] = { 'b', (char)('1' + i), 0 };
        expect_oldest(s, want, (uint64_t)i + 3);
        spool_remove(s, (uint64_t)i + 3, err, sizeof err);
    }
    CHECK(spool_commit(s, err, sizeof err) == 0 && spool_count(s) == 0, "empty commit: nothing");

    /* A batch that does not fit: refused at the payload that passes the bound; discarded, nothing left. */
    char big[401];
    memset(big, 'q', 400);
    big[400] = 0;
    CHECK(push_str(s, "x") == 0, "an entry");
    CHECK(spool_stage(s, big, 400, err, sizeof err) == 0 && spool_stage(s, big, 400, err, sizeof err) == 0, "800 staged");
    err[0] = 0;
    CHECK(spool_stage(s, big, 400, err, sizeof err) == -1 && strstr(err, "is full ("), "third refused: %s", err);
    CHECK(spool_staged(s) == 2, "the refused one is not staged");
    spool_discard(s);
    CHECK(spool_staged(s) == 0 && count_suffix(dir, ".tmp") == 0 && spool_count(s) == 1 &&
              count_suffix(dir, ".json.gz") == 1, "discarded: only the old entry is left");
    CHECK(spool_fits(s, 999, NULL, 0), "room given back");

    /* Closing discards a batch never committed. */
    CHECK(spool_stage(s, "z", 1, err, sizeof err) == 0, "staged");
    spool_close(s);
    CHECK(count_suffix(dir, ".tmp") == 0 && count_suffix(dir, ".json.gz") == 1, "close discards the staged");
}

static void test_reject(void)
{
    char dir[256], err[512], p[600];
    snprintf(dir, sizeof dir, "%s/reject", root);
    spool *s = spool_open(dir, 0, err, sizeof err);
    if (!s) return;
    push_str(s, "first");
    push_str(s, "second");
    buf path = {0};
    CHECK(spool_reject(s, 1, &path, err, sizeof err) == 0, "reject: %s", err);
    snprintf(p, sizeof p, "%s/rejected/00000000000000000001.json.gz", dir);
    CHECK_STR(buf_cstr(&path), p);
    size_t len = 0;
    char *text = slurp(p, &len);
    CHECK(text && len == 5 && memcmp(text, "first", 5) == 0, "moved as it was");
    free(text);
    struct stat st;
    snprintf(p, sizeof p, "%s/rejected", dir);
    CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700, "rejected/ is private");
    CHECK(!exists(dir, "00000000000000000001.json.gz") && spool_count(s) == 1 && spool_bytes(s) == 6,
          "no longer an entry: %zu", spool_count(s));
    expect_oldest(s, "second", 2);

    buf_clear(&path);
    CHECK(spool_reject_data(s, "00000000000000000002.item-3.json.gz", "part", 4, &path, err, sizeof err) == 0,
          "reject data: %s", err);
    snprintf(p, sizeof p, "%s/rejected/00000000000000000002.item-3.json.gz", dir);
    CHECK_STR(buf_cstr(&path), p);
    text = slurp(p, &len);
    CHECK(text && len == 4 && memcmp(text, "part", 4) == 0, "written");
    free(text);
    buf_clear(&path);
    CHECK(spool_reject_data(s, "00000000000000000002.item-3.json.gz", "again", 5, &path, err, sizeof err) == 0,
          "the same name again replaces it");
    text = slurp(p, &len);
    CHECK(text && len == 5, "replaced");
    free(text);
    snprintf(p, sizeof p, "%s/rejected", dir);
    CHECK(count_suffix(p, ".tmp") == 0, "no temp file left in rejected/");
    CHECK(spool_count(s) == 1, "the entry itself stays");
    spool_close(s);
    s = spool_open(dir, 0, err, sizeof err);
    CHECK(s && spool_count(s) == 1, "rejected/ is not read as entries on open");
    CHECK(spool_reject(s, 99, &path, err, sizeof err) == -1 && strstr(err, "cannot move"), "no such entry: %s", err);
    buf_free(&path);
    spool_close(s);
}

static void test_errors(void)
{
    char err[256] = "";
    CHECK(spool_open("", 0, err, sizeof err) == NULL && strstr(err, "no spool directory"), "empty dir: %s", err);
    char path[512];
    snprintf(path, sizeof path, "%s/file", root);
    write_file(root, "file", "x");
    snprintf(path, sizeof path, "%s/file/sub", root);
    CHECK(spool_open(path, 0, err, sizeof err) == NULL && strstr(err, "cannot create spool directory"), "%s", err);
}

int main(void)
{
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_order_across_reopen();
    test_size_bound();
    test_tmp_cleanup();
    test_crash_leftovers();
    test_two_writers();
    test_batches_stay_whole();
    test_gzip();
    test_staging();
    test_reject();
    test_errors();
    rm_rf(root);
    return test_summary();
}
