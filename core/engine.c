/* engine.c -- mapping runs: sandboxed states, limits, start and outcome (see engine.h).
 *
 * Limits. The allocator counts a run's bytes; a hook charges the run's CPU
 * time and checks its limits, raising an ordinary Lua error inside the
 * running task. The hook is either a count hook every HOOK_EVERY
 * instructions, which also charges the instruction budget (`awstopo test`,
 * a budget set by hand, the Lua profile), or a one-shot hook that a CPU-time
 * tick sets every TICK_MS (tick.h: scans and the daemon, where counting
 * cost a tenth of the instructions). The allocator itself only refuses past
 * twice the limit, so that C code touching a state outside any protected
 * call never meets a memory error in normal operation.
 */
#include "engine.h"

#include <malloc.h>

#include <dirent.h>
#include <lauxlib.h>
#include <limits.h>
#include <cjson/cJSON.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "embedded.h"
#include "luajson.h"
#include "model.h"
#include "pool.h"
#include "profile.h"
#include "tick.h"
#include "util.h"

#define HOOK_EVERY 10000                         /* instructions between limit checks */
/* Per run: 1.5-3 s of a tight Lua loop on this 2-core machine (busy or not).
 * A 100,000-resource account's busiest run (ec2) counts 51 million
 * (bench_full_scan's synthetic account): 10 times less. The count covers
 * tasks that reach the hook, so the many short ctx.each children of a scan
 * weigh little, a runaway loop fully. */
#define DEFAULT_INSTRUCTION_BUDGET 500000000LL
/* Per run, CPU seconds: for time in C functions, and what stops a scan's
 * runaway loop. The busiest run of a 10,000-resource account (ec2) takes
 * 0.2 to 0.3 s, so this leaves 10 times a 100,000-resource account's, as
 * the instruction budget does. */
#define DEFAULT_CPU_LIMIT 30.0
#define DEFAULT_MEMORY_LIMIT ((size_t)1 << 30)   /* per run's Lua state: 1 GiB */
#define TRIM_AFTER_PEAK ((size_t)4 << 20)       /* a released run this large hands its pages back */
#define UNKNOWN_ACCOUNT_ID "000000000000"        /* run.account when none is given (describe) */


struct engine {
    char *mapping_path;
    long long budget;         /* instructions; counted only when !ticks */
    int ticks;                /* limits checked on CPU-time ticks (tick.h) */
    double cpu_limit;
    size_t memory_limit;
    int verbose;
    model_registry *models;
    void (*on_finish)(mapping_run *r, void *ud);
    void *on_finish_ud;
};

struct mapping_run {
    engine *e;
    lua_State *L;
    lua_host host;
    topology topo;
    char *name;
    char *file;
    char *service;
    char *region;
    long long started_ms, finished_ms;
    int global;
    int entry_ref;            /* the table engine.lua returned */
    int run_ref;              /* the `run` table */
    int task_ref;             /* the running task's thread */
    long long instructions;
    double cpu;               /* CPU seconds charged by the hook (see charge_cpu) */
    size_t memory, memory_limit;
    size_t peak_memory;       /* the most memory ever held: is it worth a malloc_trim */
    pool pool;                /* the state's small blocks (pool.h) */
    sched *sched;             /* the scheduler of the running task */
    int release;              /* close the state once the scan is done (run_release_when_done) */
    char *error;
};

/* ---- engine ---- */

static void arm_hook(lua_State *running);

engine *engine_new(const engine_options *o, model_registry *models)
{
    engine *e = xcalloc(1, sizeof *e);
    e->mapping_path = xstrdup(o->mapping_path ? o->mapping_path : "");
    /* AWSTOPO_INSTRUCTION_BUDGET / AWSTOPO_MEMORY_LIMIT_MB: for tests and odd accounts */
    const char *budget = getenv("AWSTOPO_INSTRUCTION_BUDGET"), *mem = getenv("AWSTOPO_MEMORY_LIMIT_MB");
    long long set_budget = o->instruction_budget > 0 ? o->instruction_budget
                         : budget && atoll(budget) > 0 ? atoll(budget) : 0;
    e->budget = set_budget ? set_budget : DEFAULT_INSTRUCTION_BUDGET;
    e->ticks = o->cpu_ticks && !set_budget && !lua_profile_enabled() && tick_start(arm_hook) == 0;
    const char *cpu = getenv("AWSTOPO_CPU_LIMIT_SECONDS");
    e->cpu_limit = o->cpu_limit > 0 ? o->cpu_limit : cpu && atof(cpu) > 0 ? atof(cpu) : DEFAULT_CPU_LIMIT;
    e->memory_limit = o->memory_limit ? o->memory_limit
                    : mem && atoll(mem) > 0 ? (size_t)atoll(mem) << 20 : DEFAULT_MEMORY_LIMIT;
    e->verbose = o->verbose;
    e->models = models;
    e->on_finish = o->on_finish;
    e->on_finish_ud = o->on_finish_ud;
    return e;
}

void engine_free(engine *e)
{
    if (!e) return;
    free(e->mapping_path);
    free(e);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds <dir>/<sub><name>.lua along the path; caller frees. */
static char *find_on_path(const char *path, const char *sub, const char *name)
{
    char *copy = xstrdup(path);
    char *found = NULL;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        buf p = {0};
        buf_printf(&p, "%s/%s%s.lua", dir, sub, name);
        if (file_exists(p.data)) found = buf_steal(&p);
        else buf_free(&p);
    }
    free(copy);
    return found;
}

static int valid_name(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

char *engine_find(engine *e, const char *name)
{
    return valid_name(name) && !strstr(name, "..") ? find_on_path(e->mapping_path, "", name) : NULL;
}

static int has_name(const strlist *l, const char *s)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i], s) == 0) return 1;
    return 0;
}

void engine_list(engine *e, strlist *out)
{
    char *copy = xstrdup(e->mapping_path);
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        DIR *d = opendir(dir);
        if (!d) continue;
        struct dirent *ent;
        while ((ent = readdir(d))) {
            size_t n = strlen(ent->d_name);
            if (n < 5 || strcmp(ent->d_name + n - 4, ".lua") != 0) continue;
            char *name = xstrndup(ent->d_name, n - 4);
            if (!has_name(out, name)) strlist_add(out, name);
            free(name);
        }
        closedir(d);
    }
    free(copy);
    qsort(out->items, out->len, sizeof *out->items, compare_strings);
}

/* ---- limits ---- */

static void *run_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    mapping_run *r = ud;
    if (!ptr) osize = 0;      /* osize then encodes the object type */
    if (nsize == 0) {
        pool_realloc(&r->pool, ptr, osize, 0);
        r->memory -= osize;
        return NULL;
    }
    if (nsize > osize && r->memory + (nsize - osize) > 2 * r->memory_limit) return NULL;
    void *p = pool_realloc(&r->pool, ptr, osize, nsize);
    if (p) r->memory = r->memory - osize + nsize;
    if (r->memory > r->peak_memory) r->peak_memory = r->memory;
    return p;
}

/* Raises msg from a hook. A hook runs inside the function it interrupted, so
 * "where" is level 0 (luaL_error's level 1 would blame the caller). */
static int limit_error(lua_State *L, const char *msg)
{
    luaL_where(L, 0);
    lua_pushstring(L, msg);
    lua_concat(L, 2);
    return lua_error(L);
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs share the thread, so a run is charged the CPU time between two of
 * its hooks only when no other run's hook came between (then the time was
 * its own, give or take the scheduler's work). */
static void charge_cpu(mapping_run *r)
{
    static const mapping_run *last_run;
    static double last_cpu;
    double now = thread_cpu_seconds();
    if (last_run == r) r->cpu += now - last_cpu;
    last_run = r;
    last_cpu = now;
}

static void limits_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    void *ud;
    lua_getallocf(L, &ud);
    mapping_run *r = ud;
    char msg[200];
    if (r->e->ticks) {
        lua_sethook(L, NULL, 0, 0);   /* one shot: the next tick sets it again */
    } else {
        if (lua_profile_enabled()) lua_profile_tick(L, HOOK_EVERY);
        r->instructions += HOOK_EVERY;
    }
    charge_cpu(r);
    if (!r->e->ticks && r->instructions > r->e->budget) {
        snprintf(msg, sizeof msg, "instruction budget exceeded (%lld instructions; a mapping that needs more: "
                 "raise AWSTOPO_INSTRUCTION_BUDGET)", r->e->budget);
        limit_error(L, msg);
    }
    if (r->cpu > r->e->cpu_limit) {
        snprintf(msg, sizeof msg, "CPU time limit exceeded (%g s; a mapping that needs more: "
                 "raise AWSTOPO_CPU_LIMIT_SECONDS)", r->e->cpu_limit);
        limit_error(L, msg);
    }
    if (r->memory > r->memory_limit) {
        snprintf(msg, sizeof msg, "memory limit exceeded (%d MiB; raise AWSTOPO_MEMORY_LIMIT_MB)",
                 (int)(r->memory_limit >> 20));
        limit_error(L, msg);
    }
}

/* The tick's work, in its signal handler: a hook at the next instruction of
 * the running thread, if it is a run's (the scheduler also runs other states,
 * such as metrics.lua's) and has none yet (a run that counts instructions). */
static void arm_hook(lua_State *running)
{
    void *ud;
    if (lua_getallocf(running, &ud) == run_alloc && !lua_gethook(running))
        lua_sethook(running, limits_hook, LUA_MASKCOUNT, 1);
}

/* lua_pcall with the ticks told which thread runs Lua. */
static int run_pcall(lua_State *L, int nargs, int nresults)
{
    lua_State *outer = tick_enter(L);
    int status = lua_pcall(L, nargs, nresults, 0);
    tick_leave(outer);
    return status;
}

/* ---- the sandbox ---- */

/* Loads a Lua source file (text only) under the given chunk name. */
static int load_source(lua_State *L, const char *path, const char *chunkname)
{
    size_t len;
    char *text = read_file_maybe_gz(path, &len);
    if (!text) {
        lua_pushfstring(L, "cannot read %s", path);
        return LUA_ERRFILE;
    }
    int rc = luaL_loadbufferx(L, text, len, chunkname, "t");
    free(text);
    return rc;
}

/* require(name): mappings/lib/<name>.lua only, loaded once per run. */
static int l_require(lua_State *L)
{
    mapping_run *r = lua_touserdata(L, lua_upvalueindex(1));
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "awstopo.loaded");
    if (lua_getfield(L, -1, name) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    buf rel = {0};
    for (const char *p = name; *p; p++) buf_putc(&rel, *p == '.' ? '/' : *p);
    char *path = valid_name(name) && !strstr(name, "..") ? find_on_path(r->e->mapping_path, "lib/", rel.data) : NULL;
    buf_free(&rel);
    if (!path) return luaL_error(L, "module '%s' not found in the lib/ directory of the mapping path", name);
    const char *chunkname = lua_pushfstring(L, "@lib/%s.lua", name);
    int rc = load_source(L, path, chunkname);
    free(path);
    if (rc != LUA_OK) return lua_error(L);
    lua_remove(L, -2);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);   /* awstopo.loaded[name] */
    return 1;
}

/* load(text [, name [, mode [, env]]]) without binary chunks. */
static int l_load_text(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *chunk = luaL_optstring(L, 2, "=(load)");
    if (luaL_loadbufferx(L, s, n, chunk, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (!lua_isnoneornil(L, 4)) {
        lua_pushvalue(L, 4);
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

static void open_safe_os(lua_State *L)
{
    static const char *keep[] = { "time", "date", "clock", "difftime", NULL };
    luaL_requiref(L, "os", luaopen_os, 0);
    lua_newtable(L);
    for (int i = 0; keep[i]; i++) {
        lua_getfield(L, -2, keep[i]);
        lua_setfield(L, -2, keep[i]);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);
}

/* table.clone(t [, extra]): a shallow copy of t (not its metatable), made
 * at its final size, with room for `extra` more fields (as Luau's
 * table.clone, plus the room). lib/topology.lua copies every resource's
 * data and adds ten fields: grown a field at a time, the copy was rehashed
 * at each power of two of its size. */
static int l_table_clone(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer extra = luaL_optinteger(L, 2, 0);
    luaL_argcheck(L, extra >= 0 && extra <= 1024, 2, "room for 0 to 1024 more fields");
    lua_Integer count = 0, seq = (lua_Integer)lua_rawlen(L, 1);
    lua_settop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        count++;
    }
    if (seq > count) seq = count;
    if (count > INT_MAX - extra) return luaL_error(L, "table too large to clone");
    lua_createtable(L, (int)seq, (int)(count - seq + extra));
    lua_pushnil(L);
    while (lua_next(L, 1)) {            /* t copy key value */
        lua_pushvalue(L, -2);
        lua_insert(L, -2);              /* t copy key key value */
        lua_rawset(L, 2);
    }
    return 1;
}

static void open_sandbox(lua_State *L, mapping_run *r)
{
    luaL_requiref(L, "_G", luaopen_base, 1);
    luaL_requiref(L, "string", luaopen_string, 1);
    luaL_requiref(L, "table", luaopen_table, 1);
    luaL_requiref(L, "math", luaopen_math, 1);
    luaL_requiref(L, "utf8", luaopen_utf8, 1);
    lua_pop(L, 5);
    open_safe_os(L);
    lua_getglobal(L, "table");
    lua_pushcfunction(L, l_table_clone);
    lua_setfield(L, -2, "clone");
    lua_pop(L, 1);
    luajson_open(L);
    static const char *drop[] = { "dofile", "loadfile", "collectgarbage", "print", NULL };
    for (int i = 0; drop[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, drop[i]);
    }
    lua_pushcfunction(L, l_load_text);
    lua_setglobal(L, "load");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "awstopo.loaded");
    lua_pushlightuserdata(L, r);
    lua_pushcclosure(L, l_require, 1);
    lua_setglobal(L, "require");
}

/* ---- loading a run ---- */

/* The mapping's chunk name: "<directory>/<file>" ("mappings/sqs.lua") keeps
 * messages short and the same on every machine. */
static void push_chunkname(lua_State *L, const char *file)
{
    const char *base = strrchr(file, '/');
    const char *dir = base;
    while (dir && dir > file && dir[-1] != '/') dir--;
    lua_pushfstring(L, "@%s", dir ? dir : file);
}

static int load_mapping(mapping_run *r, char *err, size_t errlen)
{
    lua_State *L = r->L;
    push_chunkname(L, r->file);
    if (load_source(L, r->file, lua_tostring(L, -1)) != LUA_OK)
        return set_err(err, errlen, "%s", lua_tostring(L, -1));
    lua_remove(L, -2);
    if (run_pcall(L, 0, 1) != LUA_OK) return set_err(err, errlen, "%s", lua_tostring(L, -1));
    if (!lua_istable(L, -1)) return set_err(err, errlen, "%s: the mapping must return a table", r->file);
    if (lua_getfield(L, -1, "service") != LUA_TSTRING)
        return set_err(err, errlen, "%s: `service` must be a string naming the AWS service model", r->file);
    r->service = xstrdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, -1, "scope");
    const char *scope = lua_tostring(L, -1);
    if (scope && strcmp(scope, "global") != 0 && strcmp(scope, "regional") != 0)
        return set_err(err, errlen, "%s: `scope` must be \"regional\" or \"global\", not \"%s\"", r->file, scope);
    r->global = scope && strcmp(scope, "global") == 0;
    lua_pop(L, 1);
    return 0;   /* the mapping table stays on the stack */
}

static void push_run_table(lua_State *L, mapping_run *r, const run_info *info)
{
    lua_newtable(L);
    lua_pushstring(L, r->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, r->file);
    lua_setfield(L, -2, "file");
    lua_pushstring(L, info->account ? info->account : UNKNOWN_ACCOUNT_ID);
    lua_setfield(L, -2, "account");
    lua_pushstring(L, info->region ? info->region : DEFAULT_REGION);
    lua_setfield(L, -2, "region");
    lua_pushstring(L, info->partition ? info->partition : "aws");
    lua_setfield(L, -2, "partition");
    lua_pushstring(L, info->instance ? info->instance : "aws");
    lua_setfield(L, -2, "instance");
    luajson_new_array(L, 0);
    for (int i = 0; info->regions && info->regions[i]; i++) {
        lua_pushstring(L, info->regions[i]);
        lua_rawseti(L, -2, i + 1);
    }
    if (!info->regions) {
        lua_pushstring(L, info->region ? info->region : DEFAULT_REGION);
        lua_rawseti(L, -2, 1);
    }
    lua_setfield(L, -2, "regions");
}

/* Runs engine.lua with (P, mapping, run); keeps what it returns. */
static int load_engine(mapping_run *r, const run_info *info, char *err, size_t errlen)
{
    lua_State *L = r->L;                       /* stack: mapping */
    if (luaL_loadbufferx(L, engine_lua, engine_lua_len, "=engine.lua", "t") != LUA_OK)
        return set_err(err, errlen, "internal error: %s", lua_tostring(L, -1));
    lua_api_push(L, &r->host);
    lua_pushvalue(L, -3);
    push_run_table(L, r, info);
    lua_pushvalue(L, -1);
    r->run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (run_pcall(L, 3, 1) != LUA_OK) return set_err(err, errlen, "%s: %s", r->file, lua_tostring(L, -1));
    r->entry_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_setfield(L, LUA_REGISTRYINDEX, "awstopo.mapping");
    return 0;
}

mapping_run *run_new(engine *e, const char *name, const run_info *info, aws_client *client,
                     char *err, size_t errlen)
{
    char *file = engine_find(e, name);
    if (!file) {
        snprintf(err, errlen, "no mapping named '%s' (searched %s)", name, e->mapping_path);
        return NULL;
    }
    mapping_run *r = xcalloc(1, sizeof *r);
    r->e = e;
    r->name = xstrdup(name);
    r->region = xstrdup(info->region ? info->region : DEFAULT_REGION);
    r->file = file;
    r->memory_limit = e->memory_limit;
    r->task_ref = LUA_NOREF;
    topology_init(&r->topo);
    r->host = (lua_host){ .name = r->name, .client = client, .models = e->models, .topo = &r->topo,
                          .verbose = e->verbose };
    r->L = lua_newstate(run_alloc, r);
    if (!r->L) {
        snprintf(err, errlen, "cannot create a Lua state");
        run_free(r);
        return NULL;
    }
    /* Generational, with Lua's own major multiplier (100): a major collection
     * once the heap has doubled since the last. At 50 more of them came out
     * "bad" (freeing less than half the growth), after which Lua waits long
     * for the next: the 100k scan peaked at 86-90 MiB with 50, 79-82 with 100,
     * for the same CPU (bench_full_scan, 2026-12-07). */
    lua_gc(r->L, LUA_GCGEN, 0, 100);
    if (!e->ticks) lua_sethook(r->L, limits_hook, LUA_MASKCOUNT, HOOK_EVERY);
    open_sandbox(r->L, r);
    if (load_mapping(r, err, errlen) < 0 || load_engine(r, info, err, errlen) < 0) {
        run_free(r);
        return NULL;
    }
    lua_settop(r->L, 0);
    return r;
}

void run_free(mapping_run *r)
{
    if (!r) return;
    if (r->L) lua_close(r->L);
    pool_free_all(&r->pool);
    topology_free(&r->topo);
    lua_host_free(&r->host);
    free(r->name);
    free(r->file);
    free(r->service);
    free(r->region);
    free(r->error);
    free(r);
}

int run_set_replay(mapping_run *r, const char *json, size_t len, char *err, size_t errlen)
{
    lua_State *L = r->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->run_ref);
    if (luajson_decode(L, json, len, 0, err, errlen) < 0) {
        lua_pop(L, 1);
        return -1;
    }
    lua_setfield(L, -2, "replay");
    lua_pop(L, 1);
    return 0;
}

void run_release_when_done(mapping_run *r)
{
    r->release = 1;
}

void run_set_record(mapping_run *r, int anonymize)
{
    lua_State *L = r->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->run_ref);
    lua_createtable(L, 0, 2);
    lua_newtable(L);
    lua_setfield(L, -2, "responses");
    lua_pushboolean(L, anonymize);
    lua_setfield(L, -2, "anonymize");
    lua_setfield(L, -2, "record");
    lua_pop(L, 1);
}

static int encode_recording(lua_State *L)
{
    buf *out = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, (lua_Integer)lua_tointeger(L, 2));
    lua_getfield(L, -1, "recording");
    lua_call(L, 0, 1);
    char err[256];
    if (luajson_encode(L, -1, out, 2, err, sizeof err) < 0) return luaL_error(L, "%s", err);
    return 0;
}

char *run_recording(mapping_run *r)
{
    buf out = {0};
    lua_State *L = r->L;
    lua_pushcfunction(L, encode_recording);
    lua_pushlightuserdata(L, &out);
    lua_pushinteger(L, r->entry_ref);
    if (run_pcall(L, 2, 0) != LUA_OK) {
        lua_pop(L, 1);
        buf_free(&out);
        return NULL;
    }
    buf_putc(&out, '\n');
    return buf_steal(&out);
}

const char *run_service(const mapping_run *r) { return r->service; }
int run_is_global(const mapping_run *r) { return r->global; }
const char *run_error(const mapping_run *r) { return r->error; }
topology *run_topology(mapping_run *r) { return &r->topo; }
const strlist *run_warnings(const mapping_run *r) { return &r->host.warnings; }
const char *run_name(const mapping_run *r) { return r->name; }
const char *run_region(const mapping_run *r) { return r->region; }
size_t run_calls(const mapping_run *r) { return r->host.calls; }

double run_seconds(const mapping_run *r)
{
    return r->finished_ms > r->started_ms ? (double)(r->finished_ms - r->started_ms) / 1000.0 : 0.0;
}

/* ---- running ---- */

/* Formats an error value (on top of L) as one line: tostring(err), plus
 * where an aws error was raised. Runs protected, on the run's main thread. */
static int format_error(lua_State *L)
{
    const char *msg = luaL_tolstring(L, 1, NULL);
    if (lua_istable(L, 1) && lua_getfield(L, 1, "where") == LUA_TSTRING) {
        lua_pushfstring(L, "%s: %s", lua_tostring(L, -1), msg);
    } else {
        lua_settop(L, 2);
    }
    return 1;
}

static void task_done(void *ud, lua_State *co, int status)
{
    mapping_run *r = ud;
    if (status != LUA_OK) {
        lua_api_annotate_error(co);
        lua_State *L = r->L;
        lua_pushcfunction(L, format_error);
        lua_xmove(co, L, 1);
        const char *msg = run_pcall(L, 1, 1) == LUA_OK ? lua_tostring(L, -1) : "error (unprintable)";
        buf b = {0};
        buf_printf(&b, "mapping %s: %s", r->name, msg ? msg : "error");
        r->error = buf_steal(&b);
        lua_pop(L, 1);
    }
    luaL_unref(r->L, LUA_REGISTRYINDEX, r->task_ref);
    r->task_ref = LUA_NOREF;
    r->finished_ms = sched_now_ms();
    /* A finished scan needs its outcome, not its state: give the heap back
     * now, so a scan of many runs does not hold every run's peak to the end. */
    if (r->release && !sched_has_tasks_of(r->sched, r->L)) {
        lua_close(r->L);
        r->L = NULL;
        pool_free_all(&r->pool);
        r->memory = 0;
        /* glibc keeps freed pages otherwise: hand them back. Only after a
         * large run: trimming costs a system call per free range and a page
         * fault per page used again (after 19 small runs of a 10k-resource
         * scan: 12% of its CPU), and a small run cannot move the peak. */
        if (r->peak_memory >= TRIM_AFTER_PEAK) malloc_trim(0);
    }
    if (r->e->on_finish) r->e->on_finish(r, r->e->on_finish_ud);
}

/* A new task calling entry[fn] with nargs values taken from the top of r->L. */
static void start(mapping_run *r, sched *s, const char *fn, int nargs)
{
    lua_State *L = r->L;
    lua_State *co = lua_newthread(L);
    r->task_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_rawgeti(co, LUA_REGISTRYINDEX, r->entry_ref);
    lua_getfield(co, -1, fn);
    lua_remove(co, -2);
    lua_xmove(L, co, nargs);
    r->sched = s;
    r->started_ms = sched_now_ms();
    sched_spawn(s, co, nargs, task_done, r);
}

void run_start_scan(mapping_run *r, sched *s)
{
    start(r, s, "scan", 0);
}

/* Starts entry[fn] with a decoded JSON argument. Input that is not JSON ends
 * the run at once, as a failed task would: error set, on_finish told. */
static void start_with_json(mapping_run *r, sched *s, const char *fn, const char *what,
                            const char *json, size_t len)
{
    char err[256];
    if (luajson_decode(r->L, json, len, 0, err, sizeof err) < 0) {
        buf b = {0};
        buf_printf(&b, "mapping %s: %s not valid JSON: %s", r->name, what, err);
        r->error = buf_steal(&b);
        r->started_ms = r->finished_ms = sched_now_ms();
        if (r->e->on_finish) r->e->on_finish(r, r->e->on_finish_ud);
        return;
    }
    start(r, s, fn, 1);
}

void run_start_event(mapping_run *r, sched *s, const char *event_json, size_t len)
{
    start_with_json(r, s, "event", "event is", event_json, len);
}

void run_start_events(mapping_run *r, sched *s, const char *events_json, size_t len)
{
    start_with_json(r, s, "events", "events are", events_json, len);
}

char *run_fixture_missing(mapping_run *r)
{
    lua_State *L = r->L;
    char *out = NULL;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->run_ref);
    if (lua_getfield(L, -1, "missing") == LUA_TTABLE && lua_rawgeti(L, -1, 1) == LUA_TSTRING) {
        buf b = {0};
        lua_Unsigned n = lua_rawlen(L, -2);
        buf_printf(&b, "FixtureMissing: %llu call%s without a response in the case; the first: %s",
                   (unsigned long long)n, n == 1 ? "" : "s", lua_tostring(L, -1));
        out = buf_steal(&b);
    }
    lua_settop(L, 0);
    return out;
}

int run_handles(mapping_run *r, const char *event_name)
{
    lua_State *L = r->L;
    lua_getfield(L, LUA_REGISTRYINDEX, "awstopo.mapping");
    int found = 0;
    if (lua_getfield(L, -1, "events") == LUA_TTABLE) found = lua_getfield(L, -1, event_name) != LUA_TNIL;
    lua_settop(L, 0);
    return found;
}

char *run_event_outcome(mapping_run *r, size_t i)
{
    if (r->error) return NULL;
    lua_State *L = r->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->run_ref);
    char *out = NULL;
    if (lua_getfield(L, -1, "outcomes") == LUA_TTABLE && lua_rawgeti(L, -1, (lua_Integer)i + 1) == LUA_TSTRING)
        out = xstrdup(lua_tostring(L, -1));
    lua_settop(L, 0);
    return out;
}

int run_has_scan(mapping_run *r)
{
    lua_State *L = r->L;
    lua_getfield(L, LUA_REGISTRYINDEX, "awstopo.mapping");
    int has = lua_getfield(L, -1, "scan") == LUA_TFUNCTION;
    lua_settop(L, 0);
    return has;
}

char *run_describe(mapping_run *r)
{
    lua_State *L = r->L;
    lua_getfield(L, LUA_REGISTRYINDEX, "awstopo.mapping");
    lua_newtable(L);
    static const char *fields[] = { "service", "scope", "calls", "types", "relations", NULL };
    for (int i = 0; fields[i]; i++) {
        lua_getfield(L, -2, fields[i]);
        lua_setfield(L, -2, fields[i]);
    }
    lua_getfield(L, -2, "events");
    if (lua_istable(L, -1)) {          /* event names only, sorted (stable output) */
        strlist names = {0};
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            if (lua_type(L, -1) == LUA_TSTRING) strlist_add(&names, lua_tostring(L, -1));
        }
        if (names.len) qsort(names.items, names.len, sizeof *names.items, compare_strings);
        luajson_new_array(L, (int)names.len);
        for (size_t i = 0; i < names.len; i++) {
            lua_pushstring(L, names.items[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        strlist_free(&names);
        lua_setfield(L, -3, "events");
    }
    lua_pop(L, 1);
    buf out = {0};
    char err[128];
    if (luajson_encode(L, -1, &out, 2, err, sizeof err) < 0) buf_printf(&out, "{\"error\": \"%s\"}", err);
    lua_pop(L, 2);
    return buf_steal(&out);
}

char *engine_describe_all(engine *e, char *err, size_t errlen)
{
    strlist names = {0};
    engine_list(e, &names);
    cJSON *all = cJSON_CreateObject();
    int failed = 0;
    for (size_t i = 0; i < names.len && !failed; i++) {
        run_info info = { .region = DEFAULT_REGION, .partition = "aws" };
        mapping_run *r = run_new(e, names.items[i], &info, NULL, err, errlen);
        if (!r) {
            failed = 1;
            break;
        }
        char *desc = run_describe(r);
        run_free(r);
        cJSON *doc = cJSON_Parse(desc);
        free(desc);
        if (!doc) {
            set_err(err, errlen, "mapping %s: its declaration does not encode as JSON", names.items[i]);
            failed = 1;
            break;
        }
        cJSON_AddItemToObject(all, names.items[i], doc);
    }
    strlist_free(&names);
    char *out = NULL;
    if (!failed) {
        char *text = cJSON_PrintUnformatted(all);
        out = xstrdup(text);
        cJSON_free(text);
    }
    cJSON_Delete(all);
    return out;
}
