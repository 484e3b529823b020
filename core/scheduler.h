/* scheduler.h -- the event loop: Lua coroutines, timers and the HTTP engine.
 *
 * Every piece of mapping code runs in a task: a Lua thread driven by the
 * scheduler. A C function called from Lua that has to wait (an AWS call, a
 * group of child tasks) parks its task with sched_park() and returns its
 * result; whoever completes the wait pushes the results onto the task's stack
 * and calls sched_wake(). Woken tasks are resumed from the loop, never from
 * inside a callback, so callbacks stay short and nothing re-enters Lua.
 *
 *      sched_run ──> resume ready tasks ──> http_poll (until next timer) ──> fire timers ──┐
 *          ^                                                                              │
 *          └──────────────────────────────────────────────────────────────────────────────┘
 *
 * Tasks of many lua_States (one per mapping run) share one scheduler.
 */
#ifndef AWSTOPO_SCHED_H
#define AWSTOPO_SCHED_H

#include <lua.h>

#include "http.h"

typedef struct sched sched;

/* Called when a task ends. status is LUA_OK or an error status; on error the
 * error object is on top of co's stack. The callback must not resume co. */
typedef void (*task_done_fn)(void *ud, lua_State *co, int status);

/* The scheduler does not own the HTTP engine (it may be NULL: replay runs). */
sched *sched_new(http_engine *http);
void sched_free(sched *s);

/* Makes co a task. Its function and nargs arguments must be on its stack. The
 * caller must keep co reachable (e.g. a registry reference) until done runs.
 * The task first runs at the next turn of the loop. */
void sched_spawn(sched *s, lua_State *co, int nargs, task_done_fn done, void *ud);

/* The same, but runs co at once, until it first waits or ends (from inside a
 * C function of another task too): a prefetch starts its request now, not
 * when the caller next waits. */
void sched_start(sched *s, lua_State *co, int nargs, task_done_fn done, void *ud);

/* From a lua_CFunction running in a task: suspends the task until
 * sched_wake. The values pushed before sched_wake become the results seen by
 * k (a lua_KFunction continuation; may be NULL to return them as they are).
 * Use as: return sched_park(L, ctx, k); */
int sched_park(lua_State *co, lua_KContext ctx, lua_KFunction k);

/* Makes a parked task runnable; nresults values must be on top of its stack. */
void sched_wake(sched *s, lua_State *co, int nresults);

/* The scheduler that runs co (NULL when co is not a task). */
sched *sched_of(lua_State *co);
/* Does any task of the Lua state L (any of its threads) remain? */
int sched_has_tasks_of(sched *s, lua_State *L);

/* Runs fn(ud) once after delay_ms, from the loop. */
void sched_after(sched *s, long delay_ms, void (*fn)(void *ud), void *ud);

/* Runs until no task is ready or parked and no timer is pending. */
void sched_run(sched *s);

/* Monotonic milliseconds. */
long long sched_now_ms(void);

#endif
