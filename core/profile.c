/* profile.c -- the Lua line profiler behind AWSTOPO_LUA_PROFILE (see profile.h).
 *
 * An open-addressing table of "chunk:line" -> ticks, fixed in size: a
 * profile of more distinct lines than it holds drops the newcomers.
 */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define PROFILE_SLOTS 4096     /* a power of two */
#define PROFILE_REPORT_LINES 25

typedef struct profile_slot {
    char *where;
    long ticks;
} profile_slot;

static profile_slot *profile;
static int tick_size;

int lua_profile_enabled(void)
{
    static int enabled = -1;
    if (enabled < 0) enabled = getenv("AWSTOPO_LUA_PROFILE") != NULL;
    return enabled;
}

static int compare_ticks(const void *a, const void *b)
{
    long x = ((const profile_slot *)a)->ticks, y = ((const profile_slot *)b)->ticks;
    return (y > x) - (y < x);
}

static void profile_report(void)
{
    long total = 0;
    for (size_t i = 0; i < PROFILE_SLOTS; i++) total += profile[i].ticks;
    qsort(profile, PROFILE_SLOTS, sizeof *profile, compare_ticks);
    fprintf(stderr, "Lua profile: %ld ticks of %d instructions\n", total, tick_size);
    for (size_t i = 0; i < PROFILE_SLOTS && i < PROFILE_REPORT_LINES && profile[i].ticks; i++)
        fprintf(stderr, "  %5.1f%%  %s\n", 100.0 * (double)profile[i].ticks / (double)total, profile[i].where);
}

void lua_profile_tick(lua_State *L, int every)
{
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "Sl", &ar)) return;
    char where[128];
    snprintf(where, sizeof where, "%s:%d", ar.short_src, ar.currentline);
    if (!profile) {
        profile = xcalloc(PROFILE_SLOTS, sizeof *profile);
        atexit(profile_report);
    }
    tick_size = every;
    size_t h = 5381;
    for (const char *c = where; *c; c++) h = h * 33 + (unsigned char)*c;
    for (size_t i = 0; i < PROFILE_SLOTS; i++) {
        profile_slot *slot = &profile[(h + i) & (PROFILE_SLOTS - 1)];
        if (!slot->where) slot->where = xstrdup(where);
        if (strcmp(slot->where, where) == 0) {
            slot->ticks++;
            return;
        }
    }
}
