/* spool.c -- the durable payload FIFO (see spool.h for the on-disk layout).
 *
 * A spool keeps the directory open (all file operations are relative to it,
 * and fsync on it makes renames and unlinks durable) and an index of the
 * entries it knows, oldest first, so that peeking and removing do not read
 * the directory again for every payload.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define SEQ_DIGITS 20
#define ENTRY_SUFFIX ".json.gz"
#define TMP_SUFFIX ".tmp"
#define STALE_TMP_SECONDS 600

typedef struct entry {
    uint64_t seq;
    size_t size;       /* file size in bytes */
} entry;

/* A payload written to a .tmp file by spool_stage, waiting for the commit. */
typedef struct staged {
    char tmp[64];      /* its name in the directory */
    size_t size;
} staged;

#define REJECTED_DIR "rejected"
#define CORRUPT_DIR "corrupt"
#define BROKEN_MARK ".broken-snapshot"

struct spool {
    char *dir;
    int dirfd;         /* the directory, open for *at() calls and fsync */
    int lockfd;        /* <dir>/.lock */
    int locked;
    size_t max_bytes;
    entry *entries;    /* known entries, ascending seq; [first, len) are live */
    size_t first, len, cap;
    size_t bytes;      /* sum of live entries' sizes */
    uint64_t next_seq; /* sequence for the next push */
    unsigned tmp_counter;
    staged *staged;    /* the batch being staged, in order */
    size_t nstaged, capstaged;
    size_t staged_bytes;
};

/* ---- names ---- */

static void entry_name(char name[SEQ_DIGITS + sizeof ENTRY_SUFFIX], uint64_t seq)
{
    snprintf(name, SEQ_DIGITS + sizeof ENTRY_SUFFIX, "%020llu" ENTRY_SUFFIX, (unsigned long long)seq);
}

/* Is name "<20 digits>.json.gz"? Stores the number in *seq. */
static int parse_entry_name(const char *name, uint64_t *seq)
{
    uint64_t v = 0;
    for (int i = 0; i < SEQ_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    if (strcmp(name + SEQ_DIGITS, ENTRY_SUFFIX) != 0) return 0;
    *seq = v;
    return 1;
}

void spool_entry_path(const spool *s, uint64_t seq, buf *out)
{
    char name[SEQ_DIGITS + sizeof ENTRY_SUFFIX];
    entry_name(name, seq);
    buf_printf(out, "%s/%s", s->dir, name);
}

/* ---- the index ---- */

static int compare_entries(const void *a, const void *b)
{
    uint64_t x = ((const entry *)a)->seq, y = ((const entry *)b)->seq;
    return x < y ? -1 : x > y;
}

static void index_append(spool *s, uint64_t seq, size_t size)
{
    if (s->first > 0 && s->first == s->len) s->first = s->len = 0;
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->entries = xrealloc(s->entries, s->cap * sizeof *s->entries);
    }
    s->entries[s->len++] = (entry){ seq, size };
    s->bytes += size;
}

static void index_drop(spool *s, size_t i)
{
    s->bytes -= s->entries[i].size;
    if (i == s->first) {
        s->first++;
        return;
    }
    memmove(&s->entries[i], &s->entries[i + 1], (s->len - i - 1) * sizeof *s->entries);
    s->len--;
}

/* Is the writer of "<pid>-<n>.tmp" gone, or the file too old to be in progress? */
static int tmp_is_stale(int dirfd, const char *name)
{
    char *end;
    long pid = strtol(name, &end, 10);
    if (end == name || *end != '-' || pid <= 0) return 1;
    if (pid == (long)getpid()) return 1;   /* ours from before: nothing of ours is in flight */
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 1;
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    return time(NULL) - st.st_mtime > STALE_TMP_SECONDS;
}

/* Reads the directory into the index; with clean_tmp, deletes stale .tmp files. */
static int scan(spool *s, int clean_tmp, char *err, size_t errlen)
{
    int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        set_err(err, errlen, "cannot read spool %s: %s", s->dir, strerror(errno));
        return -1;
    }
    s->first = s->len = 0;
    s->bytes = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        struct stat st;
        if (parse_entry_name(de->d_name, &seq)) {
            if (fstatat(s->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
            index_append(s, seq, (size_t)st.st_size);
            if (seq >= s->next_seq) s->next_seq = seq + 1;
        } else if (clean_tmp && has_suffix(de->d_name, TMP_SUFFIX) && tmp_is_stale(s->dirfd, de->d_name)) {
            unlinkat(s->dirfd, de->d_name, 0);
        }
    }
    closedir(d);
    if (s->len > 1) qsort(s->entries, s->len, sizeof *s->entries, compare_entries);
    return 0;
}

int spool_rescan(spool *s, char *err, size_t errlen)
{
    return scan(s, 0, err, errlen);
}

/* ---- open / close ---- */

spool *spool_open(const char *dir, size_t max_bytes, char *err, size_t errlen)
{
    if (!dir || !dir[0]) {
        set_err(err, errlen, "no spool directory given");
        return NULL;
    }
    if (make_dirs(dir) != 0) {
        set_err(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    spool *s = xcalloc(1, sizeof *s);
    s->dir = xstrdup(dir);
    size_t n = strlen(s->dir);
    while (n > 1 && s->dir[n - 1] == '/') s->dir[--n] = '\0';
    s->max_bytes = max_bytes ? max_bytes : SPOOL_DEFAULT_MAX_BYTES;
    s->next_seq = 1;
    s->lockfd = -1;
    s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        set_err(err, errlen, "cannot open spool directory %s: %s", s->dir, strerror(errno));
        spool_close(s);
        return NULL;
    }
    s->lockfd = openat(s->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lockfd < 0) {
        set_err(err, errlen, "cannot create %s/.lock: %s", s->dir, strerror(errno));
        spool_close(s);
        return NULL;
    }
    if (scan(s, 1, err, errlen) != 0) {
        spool_close(s);
        return NULL;
    }
    return s;
}

void spool_close(spool *s)
{
    if (!s) return;
    spool_discard(s);
    free(s->staged);
    if (s->lockfd >= 0) close(s->lockfd);   /* also drops the flock */
    if (s->dirfd >= 0) close(s->dirfd);
    free(s->entries);
    free(s->dir);
    free(s);
}

/* ---- the lock ---- */

int spool_lock(spool *s, int wait, char *err, size_t errlen)
{
    if (s->locked) return 1;
    int rc;
    do {
        rc = flock(s->lockfd, LOCK_EX | (wait ? 0 : LOCK_NB));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno == EWOULDBLOCK) return 0;
        set_err(err, errlen, "cannot lock %s/.lock: %s", s->dir, strerror(errno));
        return -1;
    }
    s->locked = 1;
    if (scan(s, 0, err, errlen) != 0) {
        spool_unlock(s);
        return -1;
    }
    return 1;
}

void spool_unlock(spool *s)
{
    if (!s->locked) return;
    flock(s->lockfd, LOCK_UN);
    s->locked = 0;
}

/* ---- push ---- */

static double mib(size_t n)
{
    return (double)n / (1024.0 * 1024.0);
}

/* A MiB figure readable at any size: "256", "1.5", "0.00195". */
static void format_mib(char *out, size_t outlen, size_t n)
{
    double v = mib(n);
    snprintf(out, outlen, v >= 100 || v == 0 ? "%.0f" : v >= 1 ? "%.1f" : "%.3g", v);
}

int spool_fits(const spool *s, size_t n, char *err, size_t errlen)
{
    size_t taken = s->bytes + s->staged_bytes;
    if (taken <= s->max_bytes && n <= s->max_bytes - taken) return 1;
    char used[32], max[32];
    format_mib(used, sizeof used, taken);
    format_mib(max, sizeof max, s->max_bytes);
    set_err(err, errlen,
            "spool %s is full (%s MiB of %s MiB): payload not accepted \xe2\x80\x94 "
            "is the StackState receiver reachable?", s->dir, used, max);
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes data to a new .tmp file in directory dirfd, fsync'ed. The name goes into tmp. */
static int write_tmp(spool *s, int dirfd, const void *data, size_t len, char *tmp, size_t tmplen)
{
    snprintf(tmp, tmplen, "%ld-%u" TMP_SUFFIX, (long)getpid(), s->tmp_counter++);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlinkat(dirfd, tmp, 0);
        errno = e;
        return -1;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlinkat(dirfd, tmp, 0);
        errno = e;
        return -1;
    }
    return 0;
}

/* Gives the .tmp file the first free entry name from s->next_seq on. A hard
 * link fails rather than replace an entry another process just made; on file
 * systems without hard links, rename after checking the name is free. */
static int publish_tmp(spool *s, const char *tmp, uint64_t *seq)
{
    char name[SEQ_DIGITS + sizeof ENTRY_SUFFIX];
    for (;;) {
        entry_name(name, s->next_seq);
        if (linkat(s->dirfd, tmp, s->dirfd, name, 0) == 0) {
            unlinkat(s->dirfd, tmp, 0);
            break;
        }
        if (errno == EEXIST) {
            s->next_seq++;
            continue;
        }
        if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS && errno != EMLINK) return -1;
        if (faccessat(s->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
            s->next_seq++;
            continue;
        }
        if (renameat(s->dirfd, tmp, s->dirfd, name) != 0) return -1;
        break;
    }
    *seq = s->next_seq++;
    return 0;
}

/* ---- staging ---- */

int spool_stage(spool *s, const void *data, size_t len, char *err, size_t errlen)
{
    if (!spool_fits(s, len, err, errlen)) return -1;
    if (s->nstaged == s->capstaged) {
        s->capstaged = s->capstaged ? s->capstaged * 2 : 16;
        s->staged = xrealloc(s->staged, s->capstaged * sizeof *s->staged);
    }
    staged *st = &s->staged[s->nstaged];
    if (write_tmp(s, s->dirfd, data, len, st->tmp, sizeof st->tmp) != 0) {
        set_err(err, errlen, "cannot write to spool %s: %s", s->dir, strerror(errno));
        return -1;
    }
    st->size = len;
    s->nstaged++;
    s->staged_bytes += len;
    return 0;
}

void spool_discard(spool *s)
{
    for (size_t i = 0; i < s->nstaged; i++) unlinkat(s->dirfd, s->staged[i].tmp, 0);
    s->nstaged = 0;
    s->staged_bytes = 0;
}

/* Commits from several processes sharing a spool take turns, so that each
 * batch (one scan's snapshot) gets consecutive sequence numbers and the
 * receiver sees snapshots whole, not interleaved. The lock is held for a
 * few renames only. */
static int commit_lock(spool *s)
{
    int fd = openat(s->dirfd, ".commit.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;   /* -1: go on without it (order within the batch still holds) */
}

static void commit_unlock(int fd)
{
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
}

static int commit_staged(spool *s, char *err, size_t errlen);

int spool_commit(spool *s, char *err, size_t errlen)
{
    if (s->nstaged == 0) return 0;
    int lock = commit_lock(s);
    /* Under the lock, learn what others committed (and delivered) since we
     * looked: our batch then goes after their newest entry, never into the
     * gaps their deliveries left. */
    int rc = lock >= 0 ? scan(s, 0, err, errlen) : 0;
    if (rc == 0) rc = commit_staged(s, err, errlen);
    commit_unlock(lock);
    return rc;
}

static int commit_staged(spool *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->nstaged; i++) {
        uint64_t seq;
        if (publish_tmp(s, s->staged[i].tmp, &seq) != 0) {
            set_err(err, errlen, "cannot add an entry to spool %s: %s", s->dir, strerror(errno));
            /* All or nothing: take back the i entries this batch made, the
             * newest of the index. */
            for (size_t j = 0; j < i; j++) {
                entry *e = &s->entries[--s->len];
                char name[SEQ_DIGITS + sizeof ENTRY_SUFFIX];
                entry_name(name, e->seq);
                unlinkat(s->dirfd, name, 0);
                s->bytes -= e->size;
            }
            spool_discard(s);
            fsync(s->dirfd);
            return -1;
        }
        index_append(s, seq, s->staged[i].size);
    }
    s->nstaged = 0;
    s->staged_bytes = 0;
    if (fsync(s->dirfd) != 0) {
        set_err(err, errlen, "cannot sync spool directory %s: %s", s->dir, strerror(errno));
        return -1;
    }
    return 0;
}

size_t spool_staged(const spool *s) { return s->nstaged; }

/* ---- setting aside ---- */

/* Opens <dir>/<sub>, creating it. The descriptor, or -1 with a message. */
static int open_subdir(spool *s, const char *sub, char *err, size_t errlen)
{
    if (mkdirat(s->dirfd, sub, 0700) != 0 && errno != EEXIST) {
        set_err(err, errlen, "cannot create %s/%s: %s", s->dir, sub, strerror(errno));
        return -1;
    }
    int fd = openat(s->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) set_err(err, errlen, "cannot open %s/%s: %s", s->dir, sub, strerror(errno));
    return fd;
}

static int open_rejected(spool *s, char *err, size_t errlen)
{
    return open_subdir(s, REJECTED_DIR, err, errlen);
}

/* Moves entry seq into <dir>/<sub>/ and drops it from the index. */
static int move_aside(spool *s, uint64_t seq, const char *sub, buf *path, char *err, size_t errlen)
{
    char name[SEQ_DIGITS + sizeof ENTRY_SUFFIX];
    entry_name(name, seq);
    int rfd = open_subdir(s, sub, err, errlen);
    if (rfd < 0) return -1;
    if (renameat(s->dirfd, name, rfd, name) != 0) {
        set_err(err, errlen, "cannot move %s/%s to %s/%s: %s", s->dir, name, s->dir, sub, strerror(errno));
        close(rfd);
        return -1;
    }
    /* The new name first: a crash between the two syncs leaves the payload
     * in both places (sent again, at worst), never in neither. */
    fsync(rfd);
    fsync(s->dirfd);
    close(rfd);
    for (size_t i = s->first; i < s->len; i++) {
        if (s->entries[i].seq == seq) {
            index_drop(s, i);
            break;
        }
    }
    buf_printf(path, "%s/%s/%s", s->dir, sub, name);
    return 0;
}

int spool_reject(spool *s, uint64_t seq, buf *path, char *err, size_t errlen)
{
    return move_aside(s, seq, REJECTED_DIR, path, err, errlen);
}

int spool_quarantine(spool *s, uint64_t seq, buf *path, char *err, size_t errlen)
{
    return move_aside(s, seq, CORRUPT_DIR, path, err, errlen);
}

int spool_set_broken(spool *s, const char *why, char *err, size_t errlen)
{
    if (!why) {
        if (unlinkat(s->dirfd, BROKEN_MARK, 0) != 0 && errno != ENOENT)
            return set_err(err, errlen, "cannot remove %s/" BROKEN_MARK ": %s", s->dir, strerror(errno));
        fsync(s->dirfd);
        return 0;
    }
    int fd = openat(s->dirfd, BROKEN_MARK, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, why, strlen(why)) != 0 || write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return set_err(err, errlen, "cannot write %s/" BROKEN_MARK ": %s", s->dir, strerror(e));
    }
    close(fd);
    fsync(s->dirfd);
    return 0;
}

int spool_broken(const spool *s)
{
    return faccessat(s->dirfd, BROKEN_MARK, F_OK, 0) == 0;
}

int spool_reject_data(spool *s, const char *name, const void *data, size_t len, buf *path, char *err,
                      size_t errlen)
{
    int rfd = open_rejected(s, err, errlen);
    if (rfd < 0) return -1;
    char tmp[64];
    int rc = write_tmp(s, rfd, data, len, tmp, sizeof tmp);
    if (rc == 0 && renameat(rfd, tmp, rfd, name) != 0) {
        int e = errno;
        unlinkat(rfd, tmp, 0);
        errno = e;
        rc = -1;
    }
    if (rc != 0) {
        set_err(err, errlen, "cannot write %s/" REJECTED_DIR "/%s: %s", s->dir, name, strerror(errno));
    } else {
        fsync(rfd);
        buf_printf(path, "%s/" REJECTED_DIR "/%s", s->dir, name);
    }
    close(rfd);
    return rc;
}

/* ---- peek / remove ---- */

int spool_peek_oldest(spool *s, buf *out, uint64_t *seq, char *err, size_t errlen)
{
    int scanned = 0;
    for (;;) {
        if (s->first == s->len) {
            if (scanned) return 0;
            if (scan(s, 0, err, errlen) != 0) return -1;
            scanned = 1;
            continue;
        }
        char name[SEQ_DIGITS + sizeof ENTRY_SUFFIX];
        entry_name(name, s->entries[s->first].seq);
        buf_clear(out);
        if (read_file_at(s->dirfd, name, out, 0) == 0) {
            *seq = s->entries[s->first].seq;
            return 1;
        }
        if (errno != ENOENT) {
            set_err(err, errlen, "cannot read %s/%s: %s", s->dir, name, strerror(errno));
            return -1;
        }
        index_drop(s, s->first);   /* delivered by another process meanwhile */
    }
}

int spool_remove(spool *s, uint64_t seq, char *err, size_t errlen)
{
    char name[SEQ_DIGITS + sizeof ENTRY_SUFFIX];
    entry_name(name, seq);
    if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT) {
        set_err(err, errlen, "cannot remove %s/%s: %s", s->dir, name, strerror(errno));
        return -1;
    }
    /* Without this a crash could bring the entry back: it would be sent twice. */
    fsync(s->dirfd);
    for (size_t i = s->first; i < s->len; i++) {
        if (s->entries[i].seq == seq) {
            index_drop(s, i);
            break;
        }
    }
    return 0;
}

/* ---- accessors ---- */

size_t spool_count(const spool *s) { return s->len - s->first; }
size_t spool_bytes(const spool *s) { return s->bytes; }
size_t spool_max_bytes(const spool *s) { return s->max_bytes; }
const char *spool_dir(const spool *s) { return s->dir; }
