/* fixture_diff.h -- how `awstopo test` shows a golden file and a new outcome apart.
 *
 * Both texts are golden files (docs/fixtures.md): {"components", "relations",
 * "delete_ids", "warnings", "error"}. The structural diff prints, error and
 * warnings first, then per component, relation and delete id: added,
 * removed, and each changed field as `path: old -> new`. Each kind is cut
 * after a few entries, never before its first difference. The line diff is
 * the older view: the differing middle of the two texts.
 *
 * Both print to out and allocate nothing the caller must free.
 */
#ifndef AWSTOPO_FIXTURE_DIFF_H
#define AWSTOPO_FIXTURE_DIFF_H

#include <stdio.h>

/* Returns -1 (and prints nothing) when either text is not a JSON object:
 * the caller then falls back to the line diff. */
int fixture_diff_structural(FILE *out, const char *golden, const char *now);
void fixture_diff_lines(FILE *out, const char *golden, const char *now);

#endif
