/* util.h -- small helpers the whole core shares (like Lua's lauxlib.c or
 * Redis' util.c): one copy of each, so no file grows its own.
 *
 *   set_err            the "char *err, size_t errlen" convention's formatter
 *   strlist            a growable list of owned strings
 *   make_dirs          mkdir -p
 *   has_suffix         does a string end with another
 *   compare_strings    qsort comparator for an array of char *
 *   read_file          a whole file into a buf (also relative to a directory
 *                      fd, also for secrets); read_file_maybe_gz unpacks .gz
 *   gzip_compress / gzip_decompress   RFC 1952 gzip with zlib
 *   closest_name       "did you mean": the nearest of a list by edit distance
 *   parse_duration     "90", "90s", "15m", "1h" -> seconds (config files)
 */
#ifndef AWSTOPO_UTIL_H
#define AWSTOPO_UTIL_H

#include <stddef.h>

#include "buf.h"

/* snprintf into err (nothing when err is NULL or errlen 0). Returns -1, so
 * that `return set_err(err, errlen, ...);` reports a failure. */
int set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A list of strings, each a copy the list owns. A zeroed strlist ({0}) is empty. */
typedef struct strlist {
    char **items;
    size_t len, cap;
} strlist;

void strlist_add(strlist *l, const char *s);     /* appends a copy of s */
void strlist_addf(strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));  /* a formatted one */
void strlist_free(strlist *l);                   /* frees the items; l becomes {0} */

/* mkdir -p: path and its missing parents, mode 0700. 0, or -1 with errno. */
int make_dirs(const char *path);
int has_suffix(const char *s, const char *suffix);

/* For qsort over char *[]: strcmp order. */
int compare_strings(const void *a, const void *b);

/* Appends the whole file at path to out. secret: out is wiped whenever it
 * must grow, so no copy of the contents is left in freed memory (the caller
 * still wipes out after use). Returns 0, or -1 with errno set (EISDIR for a
 * directory). */
int read_file(const char *path, buf *out, int secret);
/* The same for name relative to the directory open as dirfd. */
int read_file_at(int dirfd, const char *name, buf *out, int secret);

/* The whole file, gunzipped when it is gzip (plain files are returned as
 * they are). NUL-terminated; *len (when len is not NULL) gets its length.
 * Caller frees; NULL when it cannot be read or is a damaged gzip. */
char *read_file_maybe_gz(const char *path, size_t *len);

/* gzip_compress appends the gzip of data to out. gzip_decompress appends
 * the contents of data, which must be complete gzip members, one or more
 * back to back (as `cat a.gz b.gz` makes, and gunzip reads); -1 with err
 * (out unchanged) otherwise. */
void gzip_compress(buf *out, const void *data, size_t len);
int gzip_decompress(buf *out, const void *data, size_t len, char *err, size_t errlen);

/* Levenshtein distance between a and b, ASCII case folded. */
size_t edit_distance(const char *a, const char *b);
/* The candidate nearest to word (edit distance at most a third of word's
 * length, at least 1, and not word itself), or NULL: for "did you mean".
 * Points into candidates. */
const char *closest_name(const char *word, const char *const *candidates, size_t n);

/* "90", "90s", "15m", "1h" -> seconds (fractions allowed: "1.5m"); -1 when
 * it is not a duration from 1 s to 30 days. */
long parse_duration(const char *v);

#endif
