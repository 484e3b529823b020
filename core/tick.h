/* tick.h -- CPU-time ticks that interrupt running Lua now and then.
 *
 * A Lua count hook stops a runaway loop, but Lua pays for it on every
 * instruction it runs while the hook is set (a tenth of a scan's
 * instructions). A tick is cheaper: a timer on the calling thread's CPU
 * clock raises a signal every TICK_MS of CPU time, and the signal handler
 * hands the Lua thread running at that moment to the tick function, which
 * sets a one-shot hook on it (lua_sethook may be called from a signal
 * handler; lua.c does so for Ctrl-C). Between ticks Lua runs hook-free.
 *
 * Whoever runs Lua code on the ticking thread says so: tick_enter(co)
 * before lua_resume / lua_pcall, tick_leave(previous) after, so that the
 * handler always names a thread that is alive and running (nested resumes
 * restore the outer one).
 */
#ifndef AWSTOPO_TICK_H
#define AWSTOPO_TICK_H

#include <lua.h>

#define TICK_MS 10   /* CPU milliseconds between two ticks */

/* Starts ticking the calling thread, each tick calling fn(running thread)
 * from the signal handler (fn must be async-signal-safe: lua_sethook is).
 * Idempotent in a process (a forked child starts its own timer). Returns 0,
 * or -1 when the system has no per-thread CPU timer (then nothing ticks). */
int tick_start(void (*fn)(lua_State *running));

/* The thread that runs Lua from now on; returns the one that ran before. */
lua_State *tick_enter(lua_State *co);
void tick_leave(lua_State *previous);

#endif
