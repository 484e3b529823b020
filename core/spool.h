/* spool.h -- a durable FIFO of payloads in a directory.
 *
 * The StackState sink writes every payload here before it tries to send it,
 * and removes it only once the receiver accepted it, so a payload survives a
 * receiver outage, a crash or a restart (ARCHITECTURE.md, decision 7).
 *
 * On disk, one file per payload:
 *
 *   <dir>/00000000000000000042.json.gz   the payload exactly as it is sent:
 *                                        gzip-compressed JSON (util.h's gzip_compress)
 *   <dir>/<pid>-<n>.tmp                  an entry being written (or staged)
 *   <dir>/.lock                          the delivery lock (see spool_lock)
 *   <dir>/.commit.lock                   taken while a batch is committed, so that
 *                                        batches of processes sharing the spool
 *                                        get consecutive sequence numbers
 *   <dir>/rejected/                      payloads the receiver refused for
 *                                        good, kept for inspection (see
 *                                        spool_reject); not entries
 *   <dir>/corrupt/                       entries found unreadable (spool_quarantine)
 *   <dir>/.broken-snapshot               (0600) present while the snapshot of an
 *                                        unreadable entry is still being delivered:
 *                                        its later payloads go without stop_snapshot
 *                                        (spool_set_broken)
 *
 * The name is a 20-digit sequence number; the oldest entry is the smallest.
 * An entry is written to a .tmp file, fsync'ed, linked to its final name
 * (which never replaces an existing entry, even when two processes push at
 * once) and the directory is fsync'ed: after spool_commit() returns 0 the
 * entries are on disk whole, and a crash can only leave .tmp files, which the next
 * spool_open() deletes (those of writers that are no longer running, or older
 * than ten minutes). The sequence continues from the highest entry present.
 *
 * Several processes may share a spool (e.g. two `awstopo scan` runs with the
 * same [stackstate] spool): any of them may add entries, and the delivery
 * lock makes sure only one delivers at a time. Secrets never go in a payload, so none is ever on
 * disk here.
 */
#ifndef AWSTOPO_SPOOL_H
#define AWSTOPO_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct spool spool;

#define SPOOL_DEFAULT_MAX_BYTES ((size_t)256 * 1024 * 1024)

/* Opens the spool in dir, creating the directory (mode 0700, parents too)
 * when missing. Deletes stale .tmp files and indexes the entries. max_bytes
 * bounds the sum of the entries' sizes; 0 = SPOOL_DEFAULT_MAX_BYTES. Returns
 * NULL with a message on failure. Caller frees with spool_close(). */
spool *spool_open(const char *dir, size_t max_bytes, char *err, size_t errlen);
void spool_close(spool *s);   /* releases the lock if held; entries stay */

/* Adding entries: a batch (one snapshot, or a single payload) becomes
 * entries all together or not at all. spool_stage() writes one payload
 * durably to a .tmp file (fsync'ed) without making it an entry (no reader
 * sees it);
 * spool_commit() then gives the staged files their entry names, in the order
 * they were staged, and syncs the directory once; spool_discard() deletes
 * them (spool_close() too). Staged bytes count against the bound as if they
 * were entries already, so the payload that would pass it is refused
 * (spool_fits' message) and the caller discards the batch: nothing of it is
 * spooled. A crash before the commit leaves only .tmp files, deleted by the
 * next spool_open(); only a crash in the middle of the commit (a few links
 * long) can leave the first part of a batch spooled without the rest.
 * spool_commit() with nothing staged does nothing. -1 with a message on an
 * I/O error; a commit that fails half-way takes back what it published. */
int spool_stage(spool *s, const void *data, size_t len, char *err, size_t errlen);
int spool_commit(spool *s, char *err, size_t errlen);
void spool_discard(spool *s);
size_t spool_staged(const spool *s);       /* payloads staged and not yet committed */

/* Setting aside: a payload the receiver refused for good goes to
 * <dir>/rejected/ (created with mode 0700 when needed), where it stays for
 * a person to look at: nothing deletes it, and it counts for no bound.
 * spool_reject() moves entry seq there as rejected/<20 digits>.json.gz (one
 * rename, both directories synced) and drops it from the spool.
 * spool_reject_data() writes data there as rejected/<name> (a .tmp file,
 * fsync, rename over any earlier file of that name). Both append the file's
 * path to path and return 0, or -1 with a message. */
int spool_reject(spool *s, uint64_t seq, buf *path, char *err, size_t errlen);
/* spool_quarantine() moves entry seq, unreadable (empty, truncated, damaged:
 * its gzip does not check out), to corrupt/<20 digits>.json.gz the same way,
 * so the entries after it can go; nothing deletes it either. */
int spool_quarantine(spool *s, uint64_t seq, buf *path, char *err, size_t errlen);
int spool_reject_data(spool *s, const char *name, const void *data, size_t len, buf *path, char *err,
                      size_t errlen);

/* The broken-snapshot mark: an entry of a snapshot was unreadable, so the
 * rest of that snapshot must go without stop_snapshot, in this process or in
 * any later one delivering the same spool (a scan, the daemon after a
 * restart). spool_set_broken(s, why) writes why to <dir>/.broken-snapshot
 * (0600, synced with the directory) -- before the entry is moved aside, so
 * no crash loses it; spool_set_broken(s, NULL) removes it. Call both with
 * the delivery lock held. spool_broken() is 1 when the mark is there.
 * 0, or -1 with a message. */
int spool_set_broken(spool *s, const char *why, char *err, size_t errlen);
int spool_broken(const spool *s);

/* Would n more bytes fit under the bound (entries and staged payloads
 * counted)? When they would not, and err is not
 * NULL, writes "spool <dir> is full (N MiB of M MiB): payload not accepted —
 * is the StackState receiver reachable?" into err. */
int spool_fits(const spool *s, size_t n, char *err, size_t errlen);

/* Reads the oldest entry into out (cleared first) and its sequence into
 * *seq. Returns 1, 0 when the spool is empty, -1 with a message on an I/O
 * error. Entries another process removed meanwhile are skipped; when it runs
 * out of the entries it knows, it reads the directory again, so entries
 * pushed by other processes are found. */
int spool_peek_oldest(spool *s, buf *out, uint64_t *seq, char *err, size_t errlen);
/* Deletes the entry (delivered). Returns 0, or -1 with a message. */
int spool_remove(spool *s, uint64_t seq, char *err, size_t errlen);

/* Re-reads the directory (entries pushed or removed by other processes). */
int spool_rescan(spool *s, char *err, size_t errlen);

/* The delivery lock: flock(2) on <dir>/.lock, released by spool_unlock(),
 * spool_close() or the process's exit. With wait = 0 it does not block.
 * Returns 1 when this spool holds the lock (and has re-read the directory),
 * 0 when another process holds it (wait = 0), -1 with a message on error. */
int spool_lock(spool *s, int wait, char *err, size_t errlen);
void spool_unlock(spool *s);

size_t spool_count(const spool *s);        /* entries known */
size_t spool_bytes(const spool *s);        /* sum of their file sizes (staged ones not included) */
size_t spool_max_bytes(const spool *s);
const char *spool_dir(const spool *s);
/* "<dir>/<20 digits>.json.gz" into out (appended). */
void spool_entry_path(const spool *s, uint64_t seq, buf *out);

#endif
