/* tick.c -- CPU-time ticks that interrupt running Lua now and then (see tick.h).
 *
 * The timer measures the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a
 * thread asleep in epoll_wait gathers none and is not woken: ticks come only
 * while it computes, at most 1000 / TICK_MS a second. The signal is
 * SIGVTALRM, sent to this thread only (SIGEV_THREAD_ID), with SA_RESTART so
 * that reads and writes it interrupts carry on; epoll_wait and the sleeps
 * return early with EINTR, which their loops already take as a wake-up.
 */
#include "tick.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static lua_State *volatile running;              /* the Lua thread running now, or NULL */
static void (*volatile tick_fn)(lua_State *);
static pid_t ticking_pid;                        /* the process whose timer ticks (0: none) */

static void on_tick(int sig)
{
    (void)sig;
    int saved = errno;
    lua_State *L = running;
    void (*fn)(lua_State *) = tick_fn;
    if (L && fn) fn(L);
    errno = saved;
}

int tick_start(void (*fn)(lua_State *running_thread))
{
    tick_fn = fn;
    if (ticking_pid == getpid()) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGVTALRM, &sa, NULL) != 0) return -1;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGVTALRM;
    sev._sigev_un._tid = gettid();   /* sigev_notify_thread_id, which this glibc does not name */
    timer_t timer;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer) != 0) return -1;
    struct itimerspec every = { .it_interval = { 0, TICK_MS * 1000000L }, .it_value = { 0, TICK_MS * 1000000L } };
    if (timer_settime(timer, 0, &every, NULL) != 0) {
        timer_delete(timer);
        return -1;
    }
    ticking_pid = getpid();
    return 0;
}

lua_State *tick_enter(lua_State *co)
{
    lua_State *previous = running;
    running = co;
    return previous;
}

void tick_leave(lua_State *previous)
{
    running = previous;
}
