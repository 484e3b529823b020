/* shrink.h -- the shrink guard: a complete snapshot much smaller than the
 * last one delivered for the same instance is not sent as complete.
 *
 * StackState deletes what a complete snapshot lacks. A scan that suddenly
 * finds half the account gone is more likely wrong (a role that lost a
 * permission, a region left out of the config) than right, so cmd_scan.c
 * sends it without stop_snapshot unless the user allows the shrink.
 *
 * The size of the last complete snapshot of each instance is kept beside the
 * spool, in <spool>/.snapshots/<instance> (the name %-escaped; dir 0700,
 * file 0600, written to a temporary file and renamed).
 */
#ifndef AWSTOPO_SHRINK_H
#define AWSTOPO_SHRINK_H

#include <stddef.h>

#define SHRINK_DEFAULT_FRACTION 0.5

/* Components of the last complete snapshot remembered for instance, or -1
 * when none is (first scan, unreadable state). */
long shrink_last(const char *spool_dir, const char *instance);

/* Remembers components for instance. -1 with err when it cannot be written
 * (the scan goes on: the guard then compares with the older value). */
int shrink_remember(const char *spool_dir, const char *instance, size_t components, char *err, size_t errlen);

/* Is `components` below fraction x last (last >= 0)? fraction 0 = never. */
int shrink_too_small(size_t components, long last, double fraction);

#endif
