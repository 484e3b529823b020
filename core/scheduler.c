/* scheduler.c -- tasks, timers and the loop (see scheduler.h).
 *
 * A task's pointer lives in its Lua thread's extra space (LUA_EXTRASPACE), so
 * a C function running in the thread finds its task without a lookup table.
 * Timers sit in a binary min-heap ordered by due time.
 */
#include "scheduler.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "tick.h"

typedef enum { TASK_READY, TASK_PARKED, TASK_RUNNING } task_state;

typedef struct task {
    sched *s;
    lua_State *co;
    task_done_fn done;
    void *ud;
    int nargs;            /* values waiting on the stack for the next resume */
    task_state state;
    struct task *next;    /* ready queue */
} task;

typedef struct timer {
    long long due;
    unsigned long seq;    /* keeps timers with the same due time in order */
    void (*fn)(void *);
    void *ud;
} timer;

struct sched {
    http_engine *http;
    task *ready_head, *ready_tail;
    size_t parked;
    task **all;           /* every live task, to fail the stuck ones */
    size_t nall, capall;
    timer *timers;        /* min-heap */
    size_t ntimers, captimers;
    unsigned long timer_seq;
};

long long sched_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static task **task_slot(lua_State *co)
{
    return (task **)lua_getextraspace(co);
}

/* The task running in co (the running thread), or NULL. Lua leaves the main
 * thread's extra space uninitialised, so the main thread, never a task, is
 * answered without reading it; sched_spawn clears it so that the threads
 * created after (which copy it) start with NULL. */
static task *task_of(lua_State *co)
{
    int is_main = lua_pushthread(co);
    lua_pop(co, 1);
    return is_main ? NULL : *task_slot(co);
}

sched *sched_of(lua_State *co)
{
    task *t = task_of(co);
    return t ? t->s : NULL;
}

sched *sched_new(http_engine *http)
{
    sched *s = xcalloc(1, sizeof *s);
    s->http = http;
    return s;
}

void sched_free(sched *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nall; i++) {
        *task_slot(s->all[i]->co) = NULL;
        free(s->all[i]);
    }
    free(s->all);
    free(s->timers);
    free(s);
}

static void push_ready(sched *s, task *t)
{
    t->state = TASK_READY;
    t->next = NULL;
    if (s->ready_tail) s->ready_tail->next = t;
    else s->ready_head = t;
    s->ready_tail = t;
}

static task *pop_ready(sched *s)
{
    task *t = s->ready_head;
    if (t) {
        s->ready_head = t->next;
        if (!s->ready_head) s->ready_tail = NULL;
    }
    return t;
}

static void forget_task(sched *s, task *t)
{
    for (size_t i = 0; i < s->nall; i++) {
        if (s->all[i] == t) {
            s->all[i] = s->all[--s->nall];
            break;
        }
    }
    *task_slot(t->co) = NULL;
    free(t);
}

static task *new_task(sched *s, lua_State *co, int nargs, task_done_fn done, void *ud)
{
    task *t = xcalloc(1, sizeof *t);
    t->s = s;
    t->co = co;
    t->done = done;
    t->ud = ud;
    t->nargs = nargs;
    if (lua_checkstack(co, 1)) {         /* see task_of */
        lua_rawgeti(co, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
        *task_slot(lua_tothread(co, -1)) = NULL;
        lua_pop(co, 1);
    }
    *task_slot(co) = t;
    if (s->nall == s->capall) {
        s->capall = s->capall ? s->capall * 2 : 64;
        s->all = xrealloc(s->all, s->capall * sizeof *s->all);
    }
    s->all[s->nall++] = t;
    return t;
}

void sched_spawn(sched *s, lua_State *co, int nargs, task_done_fn done, void *ud)
{
    push_ready(s, new_task(s, co, nargs, done, ud));
}

static void resume(sched *s, task *t);

void sched_start(sched *s, lua_State *co, int nargs, task_done_fn done, void *ud)
{
    resume(s, new_task(s, co, nargs, done, ud));
}

int sched_park(lua_State *co, lua_KContext ctx, lua_KFunction k)
{
    task *t = task_of(co);
    if (!t) return luaL_error(co, "cannot wait here: not running as a scheduled task");
    t->state = TASK_PARKED;
    t->s->parked++;
    return lua_yieldk(co, 0, ctx, k);
}

void sched_wake(sched *s, lua_State *co, int nresults)
{
    task *t = *task_slot(co);
    if (!t || t->state != TASK_PARKED) return;
    s->parked--;
    t->nargs = nresults;
    push_ready(s, t);
}

static lua_State *main_thread(lua_State *co)
{
    lua_rawgeti(co, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lua_State *m = lua_tothread(co, -1);
    lua_pop(co, 1);
    return m;
}

int sched_has_tasks_of(sched *s, lua_State *L)
{
    lua_State *m = main_thread(L);
    for (size_t i = 0; i < s->nall; i++)
        if (lua_checkstack(s->all[i]->co, 1) && main_thread(s->all[i]->co) == m) return 1;
    return 0;
}

static void finish(sched *s, task *t, int status)
{
    task_done_fn done = t->done;
    void *ud = t->ud;
    lua_State *co = t->co;
    forget_task(s, t);
    if (done) done(ud, co, status);
}

static void resume(sched *s, task *t)
{
    int nres = 0;
    t->state = TASK_RUNNING;
    lua_State *outer = tick_enter(t->co);
    int status = lua_resume(t->co, NULL, t->nargs, &nres);
    tick_leave(outer);
    t->nargs = 0;
    if (status == LUA_YIELD) {
        if (t->state == TASK_PARKED) return;
        /* A bare coroutine.yield: nothing would ever wake it. */
        lua_settop(t->co, 0);
        lua_pushstring(t->co, "a task yielded outside the scheduler (coroutine.yield is not supported)");
        status = LUA_ERRRUN;
    }
    finish(s, t, status);
}

/* ---- timers ---- */

static int timer_before(const timer *a, const timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_swap(timer *h, size_t i, size_t j)
{
    timer tmp = h[i];
    h[i] = h[j];
    h[j] = tmp;
}

void sched_after(sched *s, long delay_ms, void (*fn)(void *ud), void *ud)
{
    if (s->ntimers == s->captimers) {
        s->captimers = s->captimers ? s->captimers * 2 : 16;
        s->timers = xrealloc(s->timers, s->captimers * sizeof *s->timers);
    }
    size_t i = s->ntimers++;
    s->timers[i] = (timer){ sched_now_ms() + (delay_ms > 0 ? delay_ms : 0), s->timer_seq++, fn, ud };
    while (i > 0 && timer_before(&s->timers[i], &s->timers[(i - 1) / 2])) {
        heap_swap(s->timers, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static timer pop_timer(sched *s)
{
    timer top = s->timers[0];
    s->timers[0] = s->timers[--s->ntimers];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->ntimers && timer_before(&s->timers[l], &s->timers[m])) m = l;
        if (r < s->ntimers && timer_before(&s->timers[r], &s->timers[m])) m = r;
        if (m == i) break;
        heap_swap(s->timers, i, m);
        i = m;
    }
    return top;
}

static void fire_due_timers(sched *s)
{
    long long now = sched_now_ms();
    while (s->ntimers && s->timers[0].due <= now) {
        timer t = pop_timer(s);
        t.fn(t.ud);
    }
}

/* ---- the loop ---- */

/* Parked tasks with nothing left that could wake them: a bug in a primitive.
 * Fail one (its parent may then go on) rather than hang. */
static void fail_one_stuck_task(sched *s)
{
    for (size_t i = 0; i < s->nall; i++) {
        task *t = s->all[i];
        if (t->state != TASK_PARKED) continue;
        s->parked--;
        lua_pushstring(t->co, "task waits for something that will never happen (internal error)");
        finish(s, t, LUA_ERRRUN);
        return;
    }
    s->parked = 0;
}

void sched_run(sched *s)
{
    for (;;) {
        task *t;
        while ((t = pop_ready(s))) resume(s, t);
        fire_due_timers(s);
        if (s->ready_head) continue;
        int running = s->http ? http_running(s->http) : 0;
        if (!running && !s->ntimers) {
            if (!s->parked) return;
            fail_one_stuck_task(s);
            continue;
        }
        long long wait = 1000;
        if (s->ntimers) {
            wait = s->timers[0].due - sched_now_ms();
            if (wait < 0) wait = 0;
        }
        if (s->http && running) http_poll(s->http, (int)(wait > 1000 ? 1000 : wait));
        else if (wait > 0) {
            struct timespec ts = { (time_t)(wait / 1000), (long)(wait % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
}
