/* engine.h -- running mapping scripts.
 *
 * A mapping run is one mapping (mappings/<name>.lua) applied to one account
 * and region: its own sandboxed lua_State, its own topology, its own
 * outcome. A broken mapping fails its run with a message naming the file and
 * line, and nothing else.
 *
 * The sandbox: base functions without dofile/loadfile (load takes text only),
 * string, table, math, utf8, os.time/date/clock, json, and require() limited
 * to <mapping dir>/lib/. No io, os.execute, package, debug or coroutine.
 * Every run has a CPU-time limit and a memory limit, and an instruction
 * budget unless it checks its limits on CPU-time ticks (cpu_ticks below);
 * the error a limit raises names the variable that raises it.
 */
#ifndef AWSTOPO_ENGINE_H
#define AWSTOPO_ENGINE_H

#include <stddef.h>

#include "client.h"
#include "lua_api.h"
#include "model.h"
#include "scheduler.h"
#include "topology.h"

typedef struct mapping_run mapping_run;

typedef struct engine_options {
    const char *mapping_path;      /* ':'-separated directories: user's first, bundled last */
    long long instruction_budget;  /* per run; 0 = AWSTOPO_INSTRUCTION_BUDGET or 500 million (~2 s) */
    /* Check the limits on CPU-time ticks (tick.h) rather than by counting
     * instructions, which costs a tenth of a scan's instructions: then no
     * instruction budget applies unless one is set (option or variable), and a
     * runaway loop meets the CPU-time limit. For scans and the daemon. */
    int cpu_ticks;
    double cpu_limit;              /* per run, CPU seconds; 0 = AWSTOPO_CPU_LIMIT_SECONDS or 30 */
    size_t memory_limit;           /* per run, bytes; 0 = AWSTOPO_MEMORY_LIMIT_MB or 1 GiB */
    int verbose;                   /* ctx.log to stderr */
    /* Called as each run ends (progress display); may be NULL. */
    void (*on_finish)(mapping_run *r, void *ud);
    void *on_finish_ud;
} engine_options;

typedef struct engine engine;

/* models: used for paginators; not owned. Caller frees with engine_free. */
engine *engine_new(const engine_options *o, model_registry *models);
void engine_free(engine *e);
/* Names of the mappings on the path (a name found twice counts once), sorted. */
void engine_list(engine *e, strlist *out);
/* The file a mapping name resolves to (owned by nobody: caller frees), or NULL. */
char *engine_find(engine *e, const char *name);

/* The account id of the demo, of fixture cases that name none, and of
 * anonymized recordings (engine.lua spells it too). */
#define PLACEHOLDER_ACCOUNT_ID "123456789012"

typedef struct run_info {
    const char *account;
    const char *region;
    const char *partition;
    const char *instance;          /* StackPack instance name */
    const char *const *regions;    /* every region of the scan, NULL-terminated */
} run_info;

/* Loads and checks the mapping. client may be NULL (replay). NULL with a
 * message on failure (no such mapping, syntax error, invalid declaration).
 * Caller frees with run_free. */
mapping_run *run_new(engine *e, const char *name, const run_info *info, aws_client *client,
                     char *err, size_t errlen);
void run_free(mapping_run *r);

/* Serve calls from recorded responses (a JSON object: see docs/fixtures.md)
 * instead of AWS. Returns 0 or -1 with err. */
int run_set_replay(mapping_run *r, const char *json, size_t len, char *err, size_t errlen);

/* Record every call and its response (or error) for a fixture case, secrets
 * scrubbed; anonymize replaces the account id with PLACEHOLDER_ACCOUNT_ID. */
void run_set_record(mapping_run *r, int anonymize);
/* Closes the run's Lua state as soon as its scan has finished and no task of
 * it remains; afterwards only the outcome (topology, warnings, error, calls,
 * seconds) may be asked for (not run_recording, run_describe, ...). */
void run_release_when_done(mapping_run *r);
/* After the run: the recorded fixture case as JSON (caller frees), or NULL. */
char *run_recording(mapping_run *r);

const char *run_service(const mapping_run *r);   /* the mapping's `service` */
int run_is_global(const mapping_run *r);         /* scope == "global" */

/* Starts scan(ctx), or the handler of a CloudTrail event (JSON of the
 * event's detail), as a task; sched_run() then runs it to the end. */
void run_start_scan(mapping_run *r, sched *s);
void run_start_event(mapping_run *r, sched *s, const char *event_json, size_t len);

/* Starts a batch of events (a JSON array, oldest first) as one task: only
 * the newest event per resource is handled (the mapping's event_resource
 * says which resource an event is about), handlers run concurrently, and
 * their effects reach the run's topology in event order (a later delete
 * wins over an earlier component and the other way round). */
void run_start_events(mapping_run *r, sched *s, const char *events_json, size_t len);
/* After a batch: the outcome of event i (0-based), caller frees: "ok",
 * "none" (no handler), "superseded" (a newer event of the batch is about the
 * same resource), or the handler's error message. NULL when the run failed
 * as a whole (see run_error). */
char *run_event_outcome(mapping_run *r, size_t i);
/* Does the mapping have a handler for this event name (CloudTrail eventName
 * or EventBridge detail-type)? */
int run_handles(mapping_run *r, const char *event_name);

const char *run_error(const mapping_run *r);     /* NULL when it succeeded */
/* Replay: the calls the fixture had no response for (FixtureMissing), also
 * those the mapping caught, as "N call(s) ...: <first one>"; NULL when none.
 * Caller frees. */
char *run_fixture_missing(mapping_run *r);
topology *run_topology(mapping_run *r);
const strlist *run_warnings(const mapping_run *r);
const char *run_name(const mapping_run *r);
const char *run_region(const mapping_run *r);
size_t run_calls(const mapping_run *r);          /* API calls made */
double run_seconds(const mapping_run *r);        /* from start to end */
/* Does the mapping have a scan function? */
int run_has_scan(mapping_run *r);
/* The mapping's declaration (service, scope, calls, types, relations, event
 * names) as JSON; caller frees. */
char *run_describe(mapping_run *r);
/* Every mapping's declaration on the path: a JSON object { "<name>": <run_describe> }
 * (caller frees with free()), or NULL with err naming the mapping that does not load. */
char *engine_describe_all(engine *e, char *err, size_t errlen);

#endif
