/* test_scheduler.c -- tasks, parking, timers and the loop (scheduler.c).
 *
 * No HTTP engine: tasks wait on timers only. The primitives below stand in
 * for aws.call: sleep(ms, ...) parks its task and a timer wakes it with the
 * values it was given; hang() parks and is never woken. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"
#include "testlib.h"

static lua_State *L;
static sched *S;

/* ---- what the tasks report ---- */

typedef struct outcome {
    int done;              /* times the done callback ran */
    int status;
    char message[256];     /* tostring(error) or the first result */
    char code[64];         /* error.code when the error was a table */
    int nresults;
} outcome;

static void task_done(void *ud, lua_State *co, int status)
{
    outcome *o = ud;
    o->done++;
    o->status = status;
    o->nresults = lua_gettop(co);
    if (status != LUA_OK) {
        if (lua_istable(co, -1)) {
            lua_getfield(co, -1, "code");
            snprintf(o->code, sizeof o->code, "%s", lua_tostring(co, -1) ? lua_tostring(co, -1) : "");
            lua_pop(co, 1);
        } else {
            snprintf(o->message, sizeof o->message, "%s", lua_tostring(co, -1) ? lua_tostring(co, -1) : "?");
        }
    } else if (lua_gettop(co) > 0) {
        snprintf(o->message, sizeof o->message, "%s", luaL_tolstring(co, 1, NULL));
        lua_pop(co, 1);
    }
}

/* Spawns a task running the Lua source `src` (a function body). The thread
 * is anchored in the registry for the test's duration. */
static lua_State *spawn(const char *src, outcome *o)
{
    lua_State *co = lua_newthread(L);
    luaL_ref(L, LUA_REGISTRYINDEX);
    if (luaL_loadstring(co, src) != LUA_OK) {
        printf("bad test chunk: %s\n", lua_tostring(co, -1));
        exit(2);
    }
    memset(o, 0, sizeof *o);
    sched_spawn(S, co, 0, task_done, o);
    return co;
}

/* ---- the parking primitives ---- */

typedef struct sleeper {
    lua_State *co;
    int nvalues;
    int ref;               /* the values, in a table */
} sleeper;

static void wake_sleeper(void *ud)
{
    sleeper *z = ud;
    lua_rawgeti(z->co, LUA_REGISTRYINDEX, z->ref);
    for (int i = 1; i <= z->nvalues; i++) lua_rawgeti(z->co, -i, i);
    lua_remove(z->co, -z->nvalues - 1);
    luaL_unref(z->co, LUA_REGISTRYINDEX, z->ref);
    sched_wake(S, z->co, z->nvalues);
    free(z);
}

/* Continuation: adds "woken" after the values the timer pushed. */
static int sleep_done(lua_State *co, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    lua_pushstring(co, "woken");
    return lua_gettop(co) - (int)ctx;
}

/* sleep(ms, ...) -> ..., "woken" */
static int l_sleep(lua_State *co)
{
    long ms = (long)luaL_checkinteger(co, 1);
    sched *s = sched_of(co);
    if (!s) return luaL_error(co, "sleep outside a task");
    sleeper *z = malloc(sizeof *z);
    z->co = co;
    z->nvalues = lua_gettop(co) - 1;
    lua_createtable(co, z->nvalues, 0);
    for (int i = 1; i <= z->nvalues; i++) {
        lua_pushvalue(co, i + 1);
        lua_rawseti(co, -2, i);
    }
    z->ref = luaL_ref(co, LUA_REGISTRYINDEX);
    sched_after(s, ms, wake_sleeper, z);
    return sched_park(co, (lua_KContext)lua_gettop(co), sleep_done);
}

/* sleep_raw(ms, ...) -> ... (no continuation: the woken values as they are) */
static int l_sleep_raw(lua_State *co)
{
    long ms = (long)luaL_checkinteger(co, 1);
    sleeper *z = malloc(sizeof *z);
    z->co = co;
    z->nvalues = lua_gettop(co) - 1;
    lua_createtable(co, z->nvalues, 0);
    for (int i = 1; i <= z->nvalues; i++) {
        lua_pushvalue(co, i + 1);
        lua_rawseti(co, -2, i);
    }
    z->ref = luaL_ref(co, LUA_REGISTRYINDEX);
    sched_after(S, ms, wake_sleeper, z);
    lua_settop(co, 0);
    return sched_park(co, 0, NULL);
}

static int l_hang(lua_State *co)
{
    return sched_park(co, 0, NULL);
}

/* ---- tests ---- */

static void test_idle(void)
{
    long long t0 = sched_now_ms();
    sched_run(S);
    CHECK(sched_now_ms() - t0 < 100, "sched_run with nothing to do returns at once");
    CHECK(sched_of(L) == NULL, "the main thread is not a task");
}

static void test_run_to_completion(void)
{
    outcome a, b;
    spawn("trace = (trace or '') .. 'a' return 1 + 1", &a);
    spawn("trace = (trace or '') .. 'b' return 'x', 'y'", &b);
    CHECK(a.done == 0, "a task first runs at the next turn of the loop");
    sched_run(S);
    CHECK(a.done == 1 && a.status == LUA_OK, "a done once, ok");
    CHECK_STR(a.message, "2");
    CHECK(b.done == 1 && b.status == LUA_OK && b.nresults == 2, "b returned two values");
    lua_getglobal(L, "trace");
    CHECK_STR(lua_tostring(L, -1), "ab");    /* spawned order */
    lua_pop(L, 1);

    /* arguments */
    outcome c;
    lua_State *co = lua_newthread(L);
    luaL_ref(L, LUA_REGISTRYINDEX);
    luaL_loadstring(co, "local x, y = ... return x * y");
    lua_pushinteger(co, 6);
    lua_pushinteger(co, 7);
    memset(&c, 0, sizeof c);
    sched_spawn(S, co, 2, task_done, &c);
    sched_run(S);
    CHECK(c.done == 1 && strcmp(c.message, "42") == 0, "arguments passed: %s", c.message);
}

static void test_park_and_wake(void)
{
    outcome o;
    long long t0 = sched_now_ms();
    spawn("local a, b, w = sleep(30, 'v1', 42) return a .. ':' .. b .. ':' .. w", &o);
    sched_run(S);
    long long waited = sched_now_ms() - t0;
    CHECK(o.done == 1 && o.status == LUA_OK, "sleeper finished (status %d: %s)", o.status, o.message);
    CHECK_STR(o.message, "v1:42:woken");
    CHECK(waited >= 25, "waited for the timer (%lld ms)", waited);

    spawn("local a, b = sleep_raw(0, true, 'r') return tostring(a) .. b", &o);
    sched_run(S);
    CHECK_STR(o.message, "truer");

    /* parking several times in a row, with locals kept */
    spawn("local acc = {} for i = 1, 5 do acc[#acc + 1] = sleep(1, i) end return table.concat(acc, ',')", &o);
    sched_run(S);
    CHECK_STR(o.message, "1,2,3,4,5");
}

static void test_timer_order(void)
{
    outcome o[4];
    lua_pushstring(L, "");
    lua_setglobal(L, "order");
    spawn("sleep(40) order = order .. 'D'", &o[0]);
    spawn("sleep(10) order = order .. 'A'", &o[1]);
    spawn("sleep(25) order = order .. 'C'", &o[2]);
    spawn("sleep(10) order = order .. 'B'", &o[3]);   /* same delay as A: after A */
    sched_run(S);
    lua_getglobal(L, "order");
    CHECK_STR(lua_tostring(L, -1), "ABCD");
    lua_pop(L, 1);
    for (int i = 0; i < 4; i++) CHECK(o[i].done == 1 && o[i].status == LUA_OK, "sleeper %d done", i);

    /* interleaving: two tasks taking turns */
    lua_pushstring(L, "");
    lua_setglobal(L, "order");
    spawn("for i = 1, 3 do order = order .. 'x' sleep(20 * i) end", &o[0]);        /* 0, 20, 60 */
    spawn("for i = 1, 3 do order = order .. 'y' sleep(20 * i + 10) end", &o[1]);   /* 0, 30, 80 */
    sched_run(S);
    lua_getglobal(L, "order");
    CHECK_STR(lua_tostring(L, -1), "xyxyxy");
    lua_pop(L, 1);
}

/* Plain timers: due order, ties in sched_after order, the heap under load. */
static char fired[64];
static size_t nfired;
static void record(void *ud) { if (nfired < sizeof fired - 1) fired[nfired++] = *(const char *)ud; }

static void test_timers_alone(void)
{
    static const char *labels = "abcdefghij";
    nfired = 0;
    memset(fired, 0, sizeof fired);
    long delays[] = { 30, 0, 20, 0, 10, 20, -5, 30, 10, 0 };
    for (int i = 0; i < 10; i++) sched_after(S, delays[i], record, (void *)(labels + i));
    sched_run(S);
    /* 0-delay (and negative) first in order, then 10s, 20s, 30s; ties in insertion order */
    CHECK_STR(fired, "bdgjeicfah");

    /* many timers in scrambled order (delays far apart, so that the time
     * spent adding them does not matter): all fire, grouped by delay */
    nfired = 0;
    memset(fired, 0, sizeof fired);
    for (int i = 0; i < 60; i++) sched_after(S, (i * 7) % 5 * 40, record, (void *)(labels + (i * 7) % 5));
    sched_run(S);
    int sorted = nfired == 60;
    for (size_t i = 1; i < nfired; i++)
        if (fired[i] < fired[i - 1]) sorted = 0;
    CHECK(sorted, "60 timers in due order: %s", fired);
}

static void test_errors(void)
{
    outcome o;
    spawn("error('plain failure')", &o);
    sched_run(S);
    CHECK(o.done == 1 && o.status == LUA_ERRRUN, "error status %d", o.status);
    CHECK(strstr(o.message, "plain failure") != NULL, "message: %s", o.message);

    /* the error object itself reaches the done callback */
    spawn("sleep(1) error({ code = 'Throttling', message = 'slow down' })", &o);
    sched_run(S);
    CHECK(o.done == 1 && o.status == LUA_ERRRUN, "table error after a park");
    CHECK_STR(o.code, "Throttling");

    /* an error in one task does not disturb another */
    outcome ok;
    spawn("sleep(5) error('boom')", &o);
    spawn("sleep(10) return 'survived'", &ok);
    sched_run(S);
    CHECK(o.status == LUA_ERRRUN && ok.status == LUA_OK, "independent tasks");
    CHECK_STR(ok.message, "survived");

    /* a coroutine.yield is not a park: the documented error */
    spawn("coroutine.yield(1) return 'never'", &o);
    sched_run(S);
    CHECK(o.done == 1 && o.status == LUA_ERRRUN, "bare yield fails the task");
    CHECK(strstr(o.message, "coroutine.yield is not supported") != NULL, "message: %s", o.message);

    /* a coroutine made inside a task is not a task (its extra space is a
     * copy of the main thread's, which must read as "no task") */
    spawn("local c = coroutine.create(function() return hang() end) "
          "local ok, err = coroutine.resume(c) return tostring(ok) .. ' ' .. err", &o);
    sched_run(S);
    CHECK(o.done == 1 && o.status == LUA_OK, "the task itself is fine");
    CHECK(strstr(o.message, "false") && strstr(o.message, "not running as a scheduled task"), "message: %s",
          o.message);

    /* parking outside a task is a Lua error, not a crash */
    lua_getglobal(L, "hang");
    CHECK(lua_pcall(L, 0, 0, 0) != LUA_OK, "park on the main thread fails");
    CHECK(strstr(lua_tostring(L, -1), "not running as a scheduled task") != NULL, "message: %s",
          lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getglobal(L, "sleep");
    lua_pushinteger(L, 1);
    CHECK(lua_pcall(L, 1, 0, 0) != LUA_OK, "sched_of is NULL on the main thread");
    lua_pop(L, 1);
}

static void test_stuck(void)
{
    outcome stuck, fine;
    long long t0 = sched_now_ms();
    spawn("hang() return 'never'", &stuck);
    spawn("sleep(5) return 'fine'", &fine);
    sched_run(S);
    CHECK(sched_now_ms() - t0 < 2000, "no hang");
    CHECK(fine.done == 1 && fine.status == LUA_OK, "the other task finished first");
    CHECK(stuck.done == 1 && stuck.status == LUA_ERRRUN, "stuck task failed (status %d)", stuck.status);
    CHECK(strstr(stuck.message, "will never happen") != NULL, "message: %s", stuck.message);

    /* two stuck tasks: both failed, each once */
    outcome s1, s2;
    spawn("hang()", &s1);
    spawn("hang()", &s2);
    sched_run(S);
    CHECK(s1.done == 1 && s2.done == 1, "both stuck tasks failed once (%d, %d)", s1.done, s2.done);

    /* the loop is reusable afterwards */
    outcome after;
    spawn("return sleep(1, 'again')", &after);
    sched_run(S);
    CHECK_STR(after.message, "again");
}

/* sched_free with a task not yet finished and a timer pending: nothing is
 * reported, nothing leaks (ASan), and the thread is no longer a task. */
static void test_free_pending(void)
{
    sched *s = sched_new(NULL);
    sched *saved = S;
    S = s;
    outcome o;
    lua_State *co = spawn("hang()", &o);
    CHECK(sched_of(co) == s, "a spawned thread belongs to its scheduler");
    sched_after(s, 1000, record, (void *)"z");   /* a pending timer too */
    sched_free(s);
    S = saved;
    CHECK(o.done == 0, "never ran, never reported");
    CHECK(sched_of(co) == NULL, "no longer a task");
}

int main(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    lua_register(L, "sleep", l_sleep);
    lua_register(L, "sleep_raw", l_sleep_raw);
    lua_register(L, "hang", l_hang);
    S = sched_new(NULL);
    test_idle();
    test_run_to_completion();
    test_park_and_wake();
    test_timer_order();
    test_timers_alone();
    test_errors();
    test_stuck();
    test_free_pending();
    sched_free(S);
    lua_close(L);
    return test_summary();
}
