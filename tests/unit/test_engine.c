/* test_engine.c -- mapping runs (engine.c, engine.lua) and the primitives
 * behind ctx (lua_api.c), on mappings the test writes to a temporary
 * directory and calls answered from recorded responses (replay). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "testlib.h"

/* An item's JSON from the item store (a few at a time may be in use). */
static const char *json_of(const topo_item *it)
{
    static buf b[4];
    static int k;
    k = (k + 1) % 4;
    return topo_item_json(it, &b[k]);
}

/* printf-safe string: NULL shows as "(null)" */
#define STR(s) ((s) ? (s) : "(null)")

static char dir[64], dir2[80];
static model_registry *models;
static sched *S;

static void write_at(const char *base, const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", base, rel);
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static void put(const char *rel, const char *text) { write_at(dir, rel, text); }

/* ---- the mappings ---- */

/* A minimal stand-in for mappings/lib/topology.lua (engine.lua requires it). */
static const char *TOPOLOGY_LUA =
    "local M = {}\n"
    "function M.arn(p, s, r, a, res) return ('arn:%s:%s:%s:%s:%s'):format(p, s, r, a, res) end\n"
    "function M.component(ctx, mapping, spec)\n"
    "  if not (mapping.types and mapping.types[spec.type]) then\n"
    "    error('undeclared type ' .. tostring(spec.type), 3)\n"
    "  end\n"
    "  return { externalId = spec.id, type = { name = spec.type }, data = spec.data or {} }\n"
    "end\n"
    "function M.relation(_, s, t, d, data)\n"
    "  return { externalId = s .. '-' .. t .. '-' .. d, type = { name = t }, sourceId = s, targetId = d,\n"
    "           data = data or {} }\n"
    "end\n"
    "return M\n";

static const char *WIDGETS_LUA =
    "local helper = require('helper')\n"
    "local again = require('helper')\n"
    "local M = {\n"
    "  service = 'sqs',\n"
    "  scope = 'regional',\n"
    "  calls = { 'ListQueues', 'GetQueueAttributes', 'sts:GetCallerIdentity' },\n"
    "  types = { ['aws.test.queue'] = { layer = 'Messaging' }, ['aws.test.account'] = { layer = 'Accounts' } },\n"
    "}\n"
    "function M.scan(ctx)\n"
    "  local acct = ctx.component { type = 'aws.test.account', id = 'acct:' .. ctx.account,\n"
    "    data = { answer = helper.answer, same = helper == again, loads = helper_loads,\n"
    "             region = ctx.region, partition = ctx.partition, regions = ctx.regions } }\n"
    "  local urls = {}\n"
    "  for page in ctx.aws.paginate('ListQueues', { MaxResults = 2 }) do\n"
    "    for _, u in ipairs(page.QueueUrls) do urls[#urls + 1] = u end\n"
    "  end\n"
    "  local finished = 0\n"
    "  ctx.each(urls, function(url, i)\n"
    "    local a = ctx.aws.call('GetQueueAttributes', { QueueUrl = url }).Attributes\n"
    "    ctx.component { type = 'aws.test.queue', id = a.QueueArn, data = { url = url, index = i } }\n"
    "    ctx.relation(acct, 'has', a.QueueArn)\n"
    "    finished = finished + 1\n"
    "  end)\n"
    "  ctx.relation(nil, 'has', 'ignored')\n"
    "  local me, err = ctx.aws.try('sts:GetCallerIdentity', {})\n"
    "  if not me then ctx.warn('identity: %s (%d)', err.code, err.status) end\n"
    "  ctx.warn('%d of %d queues', finished, #urls)\n"
    "  ctx.log('not collected: verbose is off')\n"
    "end\n"
    "M.events = {\n"
    "  DeleteQueue = function(ctx, e) ctx.delete(e.requestParameters.queueArn) end,\n"
    "  CreateQueue = function() end,\n"
    "  AddPermission = function() end,\n"
    "}\n"
    "return M\n";

static const char *WIDGETS_REPLAY =
    "{\"ListQueues\": ["
    "   {\"params\": {\"NextToken\": \"p2\"}, \"response\": {\"QueueUrls\": [\"https://q/3\"]}},"
    "   {\"response\": {\"QueueUrls\": [\"https://q/1\", \"https://q/2\"], \"NextToken\": \"p2\"}}],"
    " \"GetQueueAttributes\": ["
    "   {\"params\": {\"QueueUrl\": \"https://q/1\"}, \"response\": {\"Attributes\": {\"QueueArn\": \"arn:q1\"}}},"
    "   {\"params\": {\"QueueUrl\": \"https://q/2\"}, \"response\": {\"Attributes\": {\"QueueArn\": \"arn:q2\"}}},"
    "   {\"params\": {\"QueueUrl\": \"https://q/3\"}, \"response\": {\"Attributes\": {\"QueueArn\": \"arn:q3\"}}}],"
    " \"sts:GetCallerIdentity\": [{\"error\": {\"code\": \"AccessDenied\", \"message\": \"no\", \"status\": 403}}]"
    "}";

static void write_mappings(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/lib", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/lib/nested", dir);
    mkdir(path, 0755);
    mkdir(dir2, 0755);
    put("lib/topology.lua", TOPOLOGY_LUA);
    put("lib/helper.lua",
        "local name = ...\n"
        "helper_loads = (helper_loads or 0) + 1\n"
        "return { answer = 40 + require('nested.util').two, name = name }\n");
    put("lib/nested/util.lua", "return { two = 2 }\n");
    put("lib/broken.lua", "return {\n");
    put("lib/nothing.lua", "x_loaded = true\n");
    put("notlib.lua", "return { service = 'sqs' }\n");          /* a mapping, not a module */
    put("widgets.lua", WIDGETS_LUA);

    put("syntax.lua", "local M = {\n  service = 'sqs',\n  oops oops\n}\nreturn M\n");
    put("notable.lua", "return 42\n");
    put("noservice.lua", "return { scope = 'regional' }\n");
    put("badscope.lua", "return { service = 'sqs', scope = 'planet' }\n");
    put("toperror.lua", "local x\nreturn x.field\n");
    put("global.lua", "return { service = 'route53', scope = 'global' }\n");
    put("crash.lua",
        "local M = { service = 'sqs' }\n"
        "function M.scan(ctx)\n"
        "  local t = nil\n"
        "  return t.oops\n"
        "end\n"
        "return M\n");
    put("awserr.lua",
        "local M = { service = 'sqs', calls = { 'ListQueues' } }\n"
        "function M.scan(ctx)\n"
        "  ctx.warn('before')\n"
        "  ctx.aws.call('ListQueues', {})\n"
        "  ctx.warn('never')\n"
        "end\n"
        "return M\n");
    put("undeclared.lua",
        "local M = { service = 'sqs', calls = { 'ListQueues' } }\n"
        "function M.scan(ctx)\n"
        "  ctx.aws.call('DeleteQueue', { QueueUrl = 'x' })\n"
        "end\n"
        "return M\n");
    put("children.lua",
        "local M = { service = 'sqs', types = { ['t'] = {} } }\n"
        "function M.scan(ctx)\n"
        "  local items = {}\n"
        "  for i = 1, 50 do items[i] = i end\n"
        "  ctx.each(items, function(n)\n"
        "    ctx.each({ 'a', 'b' }, function(s) ctx.component { type = 't', id = s .. n } end)\n"
        "    if n == 7 then error('child ' .. n .. ' failed') end\n"
        "  end)\n"
        "  ctx.warn('not reached')\n"
        "end\n"
        "return M\n");
    put("spin.lua",
        "local M = { service = 'sqs' }\n"
        "function M.scan(ctx)\n"
        "  local n = 0\n"
        "  while true do n = n + 1 end\n"
        "end\n"
        "return M\n");
    put("hog.lua",
        "local M = { service = 'sqs' }\n"
        "function M.scan(ctx)\n"
        "  local t = {}\n"
        "  for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end\n"
        "end\n"
        "return M\n");
    put("sandbox.lua",
        "local M = { service = 'sqs' }\n"
        "local function try(f, ...) local ok, e = pcall(f, ...) return ok and 'ok' or tostring(e) end\n"
        "function M.scan(ctx)\n"
        "  for _, name in ipairs({ 'io', 'package', 'debug', 'coroutine', 'dofile', 'loadfile', 'print',\n"
        "                          'collectgarbage' }) do\n"
        "    ctx.warn('%s=%s', name, type(_G[name]))\n"
        "  end\n"
        "  ctx.warn('os.execute=%s os.getenv=%s os.time=%s', type(os.execute), type(os.getenv), type(os.time))\n"
        "  ctx.warn('load text=%s', tostring(load('return 6 * 7')()))\n"
        "  local f, e = load(string.dump(function() end))\n"
        "  ctx.warn('load binary=%s', tostring(f))\n"
        "  ctx.warn('notlib: %s', try(require, 'notlib'))\n"
        "  ctx.warn('dots: %s', try(require, '..lib.helper'))\n"
        "  ctx.warn('slash: %s', try(require, 'nested/util'))\n"
        "  ctx.warn('broken: %s', try(require, 'broken'))\n"
        "  ctx.warn('nothing: %s %s', tostring(require('nothing')), tostring(x_loaded))\n"
        "  ctx.warn('nested: %s', require('nested.util').two)\n"
        "  local src = setmetatable({ 1, 2, a = 'x', [true] = 3 }, {})\n"
        "  local c = table.clone(src, 5)\n"
        "  c.b = 'y'\n"
        "  ctx.warn('clone: %s %s %s %s %s %s %s', c[1], c[2], c.a, c[true], c.b, tostring(src.b),\n"
        "           tostring(getmetatable(c)))\n"
        "  ctx.warn('clone bad: %s', try(table.clone, 'x'))\n"
        "  ctx.warn('clone room: %s', try(table.clone, {}, -1))\n"
        "end\n"
        "return M\n");

    /* the second directory on the path: one name shadowed, one new */
    write_at(dir2, "widgets.lua", "return { service = 'ec2' }\n");
    write_at(dir2, "extra.lua", "return { service = 'ec2' }\n");
}

/* ---- running ---- */

static int finished_runs;
static mapping_run *last_finished;

static void on_finish(mapping_run *r, void *ud)
{
    (void)ud;
    finished_runs++;
    last_finished = r;
}

static engine *new_engine(long long budget, size_t memory)
{
    char path[256];
    snprintf(path, sizeof path, "%s:%s", dir, dir2);
    engine_options o = { .mapping_path = path, .instruction_budget = budget, .memory_limit = memory,
                         .on_finish = on_finish };
    return engine_new(&o, models);
}

static const run_info INFO = { .account = "111122223333", .region = "eu-west-1" };

/* Loads, replays and runs one mapping to the end. NULL (and the message in
 * err) when it did not load. */
static mapping_run *run(engine *e, const char *name, const char *replay, char *err, size_t errlen)
{
    mapping_run *r = run_new(e, name, &INFO, NULL, err, errlen);
    if (!r) return NULL;
    if (replay && run_set_replay(r, replay, strlen(replay), err, errlen) < 0) {
        run_free(r);
        return NULL;
    }
    run_start_scan(r, S);
    sched_run(S);
    return r;
}

static const topo_item *find_item(const topo_list *l, const char *id)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i].external_id, id) == 0) return &l->items[i];
    return NULL;
}

static int has_warning(const mapping_run *r, const char *text)
{
    const strlist *w = run_warnings(r);
    for (size_t i = 0; i < w->len; i++)
        if (strcmp(w->items[i], text) == 0) return 1;
    return 0;
}

/* ---- tests ---- */

static void expect_load_error(engine *e, const char *name, const char *want)
{
    char err[512] = "";
    mapping_run *r = run_new(e, name, &INFO, NULL, err, sizeof err);
    CHECK(r == NULL, "%s: refused", name);
    CHECK(strstr(err, want) != NULL, "%s: \"%s\" should contain \"%s\"", name, err, want);
    run_free(r);
}

static void test_load_errors(engine *e)
{
    expect_load_error(e, "nosuch", "no mapping named 'nosuch'");
    expect_load_error(e, "nosuch", dir2);                          /* names the path */
    expect_load_error(e, "../x", "no mapping named");
    expect_load_error(e, "lib/helper", "no mapping named");
    expect_load_error(e, "", "no mapping named");
    expect_load_error(e, "syntax", "syntax.lua:3:");
    expect_load_error(e, "notable", "the mapping must return a table");
    expect_load_error(e, "noservice", "`service` must be a string");
    expect_load_error(e, "badscope", "`scope` must be \"regional\" or \"global\", not \"planet\"");
    expect_load_error(e, "toperror", "toperror.lua:2:");
    CHECK(finished_runs == 0, "no run finished");

    char err[256];
    mapping_run *r = run_new(e, "global", &INFO, NULL, err, sizeof err);
    CHECK(r && run_is_global(r), "scope global: %s", r ? "" : err);
    CHECK(r && strcmp(run_service(r), "route53") == 0, "service");
    run_free(r);
    r = run_new(e, "notlib", &INFO, NULL, err, sizeof err);
    CHECK(r && !run_is_global(r), "no scope: regional");
    CHECK(r && finished_runs == 0 && run_error(r) == NULL, "not started yet");
    run_free(r);
}

static void test_list_find(engine *e)
{
    strlist names = {0};
    engine_list(e, &names);
    const char *want[] = { "awserr", "badscope", "children", "crash", "extra", "global", "hog", "noservice",
                           "notable", "notlib", "sandbox", "spin", "syntax", "toperror", "undeclared",
                           "widgets" };
    size_t n = sizeof want / sizeof *want;
    CHECK(names.len == n, "%zu mappings listed, want %zu", names.len, n);
    for (size_t i = 0; i < names.len && i < n; i++) CHECK_STR(names.items[i], want[i]);
    strlist_free(&names);

    char *f = engine_find(e, "widgets");
    char want_path[128];
    snprintf(want_path, sizeof want_path, "%s/widgets.lua", dir);
    CHECK_STR(f, want_path);                                       /* the first directory wins */
    free(f);
    f = engine_find(e, "extra");
    CHECK(f && strstr(f, dir2) == f, "found in the second directory: %s", f);
    free(f);
    CHECK(engine_find(e, "..") == NULL && engine_find(e, "a/b") == NULL, "no path tricks");
}

static void test_scan(engine *e)
{
    char err[512] = "";
    finished_runs = 0;
    mapping_run *r = run(e, "widgets", WIDGETS_REPLAY, err, sizeof err);
    CHECK(r != NULL, "widgets loads: %s", err);
    if (!r) return;
    CHECK(run_error(r) == NULL, "no error: %s", STR(run_error(r)));
    CHECK(finished_runs == 1 && last_finished == r, "on_finish called once with the run");
    CHECK_STR(run_name(r), "widgets");
    CHECK_STR(run_region(r), "eu-west-1");
    CHECK_STR(run_service(r), "sqs");
    CHECK(run_calls(r) == 6, "calls counted: %zu (2 pages, 3 attributes, 1 identity)", run_calls(r));
    CHECK(run_seconds(r) >= 0 && run_seconds(r) < 60, "seconds %f", run_seconds(r));

    topology *t = run_topology(r);
    CHECK(t->components.len == 4, "components: %zu", t->components.len);
    CHECK(t->relations.len == 3, "relations: %zu", t->relations.len);
    CHECK(t->deletes.len == 0, "deletes: %zu", t->deletes.len);
    const topo_item *acct = find_item(&t->components, "acct:111122223333");
    CHECK(acct != NULL, "account component");
    if (acct) {
        CHECK(strstr(json_of(acct), "\"answer\":42") != NULL, "lib module with a nested require: %s", json_of(acct));
        CHECK(strstr(json_of(acct), "\"same\":true") && strstr(json_of(acct), "\"loads\":1"),
              "a module is loaded once per run: %s", json_of(acct));
        CHECK(strstr(json_of(acct), "\"region\":\"eu-west-1\"") && strstr(json_of(acct), "\"partition\":\"aws\""),
              "ctx fields: %s", json_of(acct));
        CHECK(strstr(json_of(acct), "\"regions\":[\"eu-west-1\"]") != NULL, "regions default: %s", json_of(acct));
        CHECK(strstr(json_of(acct), "\"type\":{\"name\":\"aws.test.account\"}") != NULL, "type: %s", json_of(acct));
    }
    const topo_item *q3 = find_item(&t->components, "arn:q3");
    CHECK(q3 && strstr(json_of(q3), "\"url\":\"https://q/3\"") && strstr(json_of(q3), "\"index\":3"),
          "the second page's queue, third child: %s", q3 ? json_of(q3) : "(none)");
    CHECK(find_item(&t->relations, "acct:111122223333-has-arn:q2") != NULL, "relation id");
    const topo_item *rel = find_item(&t->relations, "acct:111122223333-has-arn:q1");
    CHECK(rel && strstr(json_of(rel), "\"sourceId\":\"acct:111122223333\"") &&
              strstr(json_of(rel), "\"targetId\":\"arn:q1\""),
          "relation json: %s", rel ? json_of(rel) : "(none)");

    const strlist *w = run_warnings(r);
    CHECK(w->len == 2, "%zu warnings", w->len);
    CHECK(has_warning(r, "identity: AccessDenied (403)"), "try returned the aws error");
    CHECK(has_warning(r, "3 of 3 queues"), "every child of ctx.each completed before it returned");

    /* describe: the declarations as JSON */
    char *d = run_describe(r);
    CHECK(d && strstr(d, "\"service\": \"sqs\""), "describe service: %s", STR(d));
    CHECK(d && strstr(d, "\"scope\": \"regional\""), "describe scope");
    CHECK(d && strstr(d, "\"sts:GetCallerIdentity\""), "describe calls");
    CHECK(d && strstr(d, "\"aws.test.queue\": {") && strstr(d, "\"layer\": \"Messaging\""), "describe types");
    CHECK(d && strstr(d, "\"events\": [\n    \"AddPermission\",\n    \"CreateQueue\",\n    \"DeleteQueue\"\n  ]"),
          "describe events, sorted: %s", STR(d));
    CHECK(d && !strstr(d, "scan"), "functions are not described");
    free(d);
    run_free(r);
}

static void test_event(engine *e)
{
    char err[256];
    const char *ev = "{\"eventName\": \"DeleteQueue\", \"requestParameters\": {\"queueArn\": \"arn:gone\"}}";
    mapping_run *r = run_new(e, "widgets", &INFO, NULL, err, sizeof err);
    CHECK(r != NULL, "load: %s", err);
    if (!r) return;
    run_start_event(r, S, ev, strlen(ev));
    sched_run(S);
    CHECK(last_finished == r && run_error(r) == NULL, "event handled: %s", STR(run_error(r)));
    CHECK(run_topology(r)->deletes.len == 1 && strcmp(run_topology(r)->deletes.items[0].external_id, "arn:gone") == 0,
          "ctx.delete from the handler");
    CHECK(run_calls(r) == 0, "no calls");
    run_free(r);

    r = run_new(e, "widgets", &INFO, NULL, err, sizeof err);
    run_start_event(r, S, "{not json", 9);
    sched_run(S);
    CHECK(run_error(r) && strstr(run_error(r), "event is not valid JSON"), "bad event: %s", STR(run_error(r)));
    run_free(r);
}

static void expect_run_error(engine *e, const char *name, const char *replay, const char *want1,
                             const char *want2)
{
    char err[512] = "";
    int before = finished_runs;
    mapping_run *r = run(e, name, replay, err, sizeof err);
    CHECK(r != NULL, "%s loads: %s", name, err);
    if (!r) return;
    const char *msg = run_error(r);
    CHECK(last_finished == r && msg, "%s failed", name);
    CHECK(msg && strstr(msg, want1), "%s: \"%s\" should contain \"%s\"", name, STR(msg), want1);
    CHECK(msg && (!want2 || strstr(msg, want2)), "%s: \"%s\" should contain \"%s\"", name, STR(msg), STR(want2));
    CHECK(finished_runs == before + 1, "%s: on_finish called", name);
    run_free(r);
}

static void test_run_errors(engine *e)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s/", strrchr(dir, '/') + 1);   /* chunk names are "<dir>/<file>" */

    expect_run_error(e, "crash", NULL, "mapping crash: ", "crash.lua:4:");
    expect_run_error(e, "crash", NULL, prefix, "attempt to index");
    /* an aws error raised from a call names where in the mapping it was made */
    expect_run_error(e, "awserr", "{\"ListQueues\": [{\"error\": {\"code\": \"AccessDenied\", \"message\": \"nope\","
                                  " \"status\": 403}}]}",
                     "awserr.lua:4: ", "AccessDenied: nope");
    expect_run_error(e, "awserr", "{}", "FixtureMissing", "awserr.lua:4");
    expect_run_error(e, "undeclared", "{}", "undeclared.lua:3:", "which its `calls` list does not declare");
    expect_run_error(e, "children", NULL, "children.lua:7:", "child 7 failed");

    /* the failed child did not stop its siblings: all 100 grandchildren emitted */
    char err[256];
    mapping_run *r = run(e, "children", NULL, err, sizeof err);
    if (r) {
        CHECK(run_topology(r)->components.len == 100, "siblings completed: %zu", run_topology(r)->components.len);
        CHECK(!has_warning(r, "not reached"), "the parent stopped at the error");
        run_free(r);
    }

    /* no replay and no client: a call is an error, not a crash */
    expect_run_error(e, "awserr", NULL, "no AWS client", NULL);
}

static void test_sandbox(engine *e)
{
    char err[256];
    mapping_run *r = run(e, "sandbox", NULL, err, sizeof err);
    CHECK(r != NULL, "load: %s", err);
    if (!r) return;
    CHECK(run_error(r) == NULL, "sandbox run: %s", STR(run_error(r)));
    static const char *absent[] = { "io", "package", "debug", "coroutine", "dofile", "loadfile", "print",
                                    "collectgarbage" };
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) {
        char w[64];
        snprintf(w, sizeof w, "%s=nil", absent[i]);
        CHECK(has_warning(r, w), "%s is not in the sandbox", absent[i]);
    }
    CHECK(has_warning(r, "os.execute=nil os.getenv=nil os.time=function"), "os trimmed");
    CHECK(has_warning(r, "load text=42"), "load takes text");
    CHECK(has_warning(r, "load binary=nil"), "load refuses binary chunks");
    CHECK(has_warning(r, "nested: 2"), "dotted names map to directories");
    CHECK(has_warning(r, "nothing: true true"), "a module returning nothing gives true");
    CHECK(has_warning(r, "clone: 1 2 x 3 y nil nil"), "table.clone copies every field, not the metatable");
    CHECK(has_warning(r, "clone bad: bad argument #1 to 'table.clone' (table expected, got string)"),
          "table.clone takes a table");
    CHECK(has_warning(r, "clone room: bad argument #2 to 'table.clone' (room for 0 to 1024 more fields)"),
          "table.clone's room is bounded");
    const strlist *w = run_warnings(r);
    for (size_t i = 0; i < w->len; i++) {
        const char *s = w->items[i];
        if (!strncmp(s, "notlib: ", 8) || !strncmp(s, "dots: ", 6) || !strncmp(s, "slash: ", 7))
            CHECK(strstr(s, "not found in the lib/ directory"), "require outside lib/ refused: %s", s);
        if (!strncmp(s, "broken: ", 8))
            CHECK(strstr(s, "lib/broken.lua:") != NULL, "a broken module names its file: %s", s);
    }
    run_free(r);
}

static void test_limits(void)
{
    char err[256];
    /* AWSTOPO_INSTRUCTION_BUDGET applies when the options say 0 */
    setenv("AWSTOPO_INSTRUCTION_BUDGET", "2000000", 1);
    engine *e = new_engine(0, 0);
    unsetenv("AWSTOPO_INSTRUCTION_BUDGET");
    long long t0 = sched_now_ms();
    mapping_run *r = run(e, "spin", NULL, err, sizeof err);
    CHECK(r && run_error(r) && strstr(run_error(r), "instruction budget exceeded (2000000 instructions; a mapping that needs more: raise AWSTOPO_INSTRUCTION_BUDGET)"),
          "budget from the environment: %s", r ? STR(run_error(r)) : err);
    CHECK(r && run_error(r) && strstr(run_error(r), "spin.lua:4: "), "the loop's line is named: %s",
          r ? STR(run_error(r)) : err);
    CHECK(sched_now_ms() - t0 < 20000, "stopped quickly");
    run_free(r);
    /* a run within the budget is unaffected */
    r = run(e, "widgets", WIDGETS_REPLAY, err, sizeof err);
    CHECK(r && run_error(r) == NULL, "widgets within budget: %s", r ? STR(run_error(r)) : err);
    run_free(r);
    engine_free(e);

    /* the option wins over the environment */
    setenv("AWSTOPO_INSTRUCTION_BUDGET", "1", 1);
    e = new_engine(3000000, 0);
    unsetenv("AWSTOPO_INSTRUCTION_BUDGET");
    r = run(e, "spin", NULL, err, sizeof err);
    CHECK(r && run_error(r) && strstr(run_error(r), "(3000000 instructions;"), "budget option: %s",
          r ? STR(run_error(r)) : err);
    run_free(r);
    engine_free(e);

    /* memory */
    e = new_engine(0, (size_t)16 << 20);
    r = run(e, "hog", NULL, err, sizeof err);
    CHECK(r && run_error(r) && strstr(run_error(r), "memory limit exceeded (16 MiB;"), "memory limit: %s",
          r ? STR(run_error(r)) : err);
    CHECK(r && run_error(r) && strstr(run_error(r), "hog.lua:4: "), "the allocating line is named: %s",
          r ? STR(run_error(r)) : err);
    run_free(r);
    engine_free(e);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/awstopo-engine.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
    snprintf(dir2, sizeof dir2, "%s-2", dir);
    write_mappings();
    models = model_registry_new("models");
    S = sched_new(NULL);

    unsetenv("AWSTOPO_INSTRUCTION_BUDGET");
    unsetenv("AWSTOPO_MEMORY_LIMIT_MB");
    engine *e = new_engine(0, 0);
    test_load_errors(e);
    test_list_find(e);
    test_scan(e);
    test_event(e);
    test_run_errors(e);
    test_sandbox(e);
    engine_free(e);
    test_limits();

    sched_free(S);
    model_registry_free(models);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, dir2);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    return test_summary();
}
