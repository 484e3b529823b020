/* profile.h -- AWSTOPO_LUA_PROFILE: where mapping code spends its instructions.
 *
 * A development aid: with the variable set, engine.c's count hook also notes
 * the Lua line running at each tick; at exit the busiest lines go to stderr.
 * The table lives for the whole process (all runs count together).
 */
#ifndef AWSTOPO_PROFILE_H
#define AWSTOPO_PROFILE_H

#include <lua.h>

/* Is AWSTOPO_LUA_PROFILE set? (read once) */
int lua_profile_enabled(void);
/* Counts a tick of `every` instructions for the line running in L. */
void lua_profile_tick(lua_State *L, int every);

#endif
