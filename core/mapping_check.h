/* mapping_check.h -- `awstopo mappings check`: static checks of mapping files.
 *
 * Each mapping is loaded in the sandbox (nothing calls AWS) and checked by
 * core/check.lua: declared calls every model on the model path lacks, types
 * used but not declared, relation types not in docs/relations.md nor
 * declared, event handlers for events the service never emits, a missing
 * scan; plus luacheck's findings when luacheck is installed. Prints
 * "FILE:LINE: message" per finding and "N passed, N failed" (mappings).
 */
#ifndef AWSTOPO_MAPPING_CHECK_H
#define AWSTOPO_MAPPING_CHECK_H

#include "cli.h"

/* paths: mapping files or directories (their *.lua, not lib/); empty: the
 * bundled mappings. Returns EXIT_OK when nothing was found, EXIT_PARTIAL
 * otherwise. */
int mapping_check(const common_options *co, const strlist *paths);

#endif
