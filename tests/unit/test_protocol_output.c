/* test_protocol_output.c -- the response parsers (protocol_parse,
 * protocol_parse_error) against AWS's protocol test suite, then our own cases.
 *
 * Conformance: for every case of tests/conformance/aws-protocols/output/<protocol>.json
 * we compile a model from the suite's metadata + shapes and the case's
 * operation, parse the case's response, encode our Lua result as JSON and
 * compare it with the expected result. The suite states results the way
 * botocore returns them, so the expected value is first put into our output
 * form, walking the output shape:
 *   - timestamps: the suite has epoch numbers, we return ISO-8601 strings
 *     ("2014-04-29T18:30:38+00:00"): the expected number is formatted with
 *     timestamp_format_output;
 *   - blobs: botocore decodes base64 and the suite holds the decoded bytes;
 *     we keep blobs as the base64 text (what `aws ... --output json` prints),
 *     so the expected bytes are base64-encoded before comparing -- except a
 *     blob that is the whole payload, which we return raw, as the suite does;
 *   - numbers compare numerically; empty lists must come back as [] (they
 *     carry the array metatable) and empty maps as {}.
 * Error cases compare the code and message from protocol_parse_error, and
 * the modeled members (case "error") from protocol_parse_error_fields.
 *
 * Every case runs. A case may fail only when skip-output.txt lists it with a
 * reason; a listed case that passes is a failure too, so the list stays true.
 * (botocore's protocol-tests-ignore-list.json is kept for reference only.)
 */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "luajson.h"
#include "model.h"
#include "protocol.h"
#include "request.h"
#include "testlib.h"
#include "util.h"
#include "timestamp.h"

#ifndef SUITE_DIR
#define SUITE_DIR "tests/conformance/aws-protocols"
#endif

/* ---- small helpers ---- */

static cJSON *load_json(const char *path)
{
    size_t len;
    char *text = read_file_maybe_gz(path, &len);
    if (!text) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    return j;
}

static void base64_encode(const unsigned char *s, size_t n, buf *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        buf_putc(out, tab[v >> 18 & 63]);
        buf_putc(out, tab[v >> 12 & 63]);
        buf_putc(out, i + 1 < n ? tab[v >> 6 & 63] : '=');
        buf_putc(out, i + 2 < n ? tab[v & 63] : '=');
    }
}

/* Encodes the Lua value at the top of the stack and parses it back with
 * cJSON (caller deletes), or NULL. */
static cJSON *lua_to_cjson(lua_State *L, char *err, size_t errlen)
{
    buf out = {0};
    cJSON *j = NULL;
    if (luajson_encode(L, -1, &out, 0, err, errlen) == 0) j = cJSON_Parse(buf_cstr(&out));
    buf_free(&out);
    return j;
}

/* ---- expected values in our output form (see the top of the file) ---- */

static const member *member_named(const shape *s, const char *name)
{
    for (size_t i = 0; i < s->nmembers; i++)
        if (strcmp(s->members[i].name, name) == 0) return &s->members[i];
    return NULL;
}

static void to_our_form(cJSON *v, const shape *s, int raw_blob)
{
    if (!s || !v || s->document) return;
    cJSON *c;
    switch (s->type) {
    case SHAPE_STRUCTURE:
        cJSON_ArrayForEach(c, v) {
            const member *m = member_named(s, c->string);
            int raw = s->payload && strcmp(s->payload, c->string) == 0;
            if (m) to_our_form(c, m->shape, raw);
        }
        break;
    case SHAPE_LIST:
        cJSON_ArrayForEach(c, v) to_our_form(c, s->element.shape, 0);
        break;
    case SHAPE_MAP:
        cJSON_ArrayForEach(c, v) to_our_form(c, s->value.shape, 0);
        break;
    case SHAPE_TIMESTAMP:
        if (cJSON_IsNumber(v)) {
            char iso[TIMESTAMP_MAX];
            timestamp_format_output(v->valuedouble, iso);
            v->type = cJSON_String;             /* the number becomes a string */
            v->valuestring = strdup(iso);
        }
        break;
    case SHAPE_BLOB:
        if (cJSON_IsString(v) && !raw_blob) {
            buf b64 = {0};
            base64_encode((const unsigned char *)v->valuestring, strlen(v->valuestring), &b64);
            cJSON_SetValuestring(v, buf_cstr(&b64));
            buf_free(&b64);
        }
        break;
    default:
        break;
    }
}

/* ---- semantic comparison: ours vs expected ---- */

static int same_json(const cJSON *a, const cJSON *b, char *path, size_t plen, buf *why)
{
    size_t at = strlen(path);
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        double x = a->valuedouble, y = b->valuedouble;
        if (x == y || fabs(x - y) <= 1e-12 * fmax(fabs(x), fabs(y))) return 1;
        buf_printf(why, "%s: %.17g != %.17g", path, x, y);
        return 0;
    }
    if (cJSON_IsBool(a) && cJSON_IsBool(b) && cJSON_IsTrue(a) == cJSON_IsTrue(b)) return 1;
    if (cJSON_IsNull(a) && cJSON_IsNull(b)) return 1;
    if (cJSON_IsString(a) && cJSON_IsString(b)) {
        if (strcmp(a->valuestring, b->valuestring) == 0) return 1;
        buf_printf(why, "%s: \"%s\" != \"%s\"", path, a->valuestring, b->valuestring);
        return 0;
    }
    if (cJSON_IsArray(a) && cJSON_IsArray(b)) {
        int n = cJSON_GetArraySize(a);
        if (n != cJSON_GetArraySize(b)) {
            buf_printf(why, "%s: %d items != %d", path, n, cJSON_GetArraySize(b));
            return 0;
        }
        for (int i = 0; i < n; i++) {
            snprintf(path + at, plen - at, "[%d]", i);
            if (!same_json(cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i), path, plen, why)) return 0;
        }
        path[at] = '\0';
        return 1;
    }
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        const cJSON *c;
        cJSON_ArrayForEach(c, b) {
            if (!cJSON_GetObjectItemCaseSensitive(a, c->string)) {
                buf_printf(why, "%s: missing %s", path, c->string);
                return 0;
            }
        }
        cJSON_ArrayForEach(c, a) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(b, c->string);
            if (!d) {
                buf_printf(why, "%s: unexpected %s", path, c->string);
                return 0;
            }
            snprintf(path + at, plen - at, ".%s", c->string);
            if (!same_json(c, d, path, plen, why)) return 0;
        }
        path[at] = '\0';
        return 1;
    }
    char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
    buf_printf(why, "%s: %s != %s", path, x ? x : "?", y ? y : "?");
    free(x);
    free(y);
    return 0;
}

/* ---- skip lists ---- */

typedef struct skiplist {
    char *ids[256];
    size_t n;
} skiplist;

static void skip_add(skiplist *s, const char *id)
{
    if (s->n < sizeof s->ids / sizeof *s->ids) s->ids[s->n++] = strdup(id);
}

static int skip_has(const skiplist *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0) return 1;
    return 0;
}

static void skip_free(skiplist *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->ids[i]);
    s->n = 0;
}

/* Ours: "CaseId  # reason" per line; every skip must say why. */
static void load_skip_file(skiplist *s)
{
    FILE *f = fopen(SUITE_DIR "/skip-output.txt", "r");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || !*p) continue;
        char *hash = strchr(p, '#');
        CHECK(hash && strlen(hash + 1) > 10, "skip-output.txt: a skip without a reason: %s", p);
        size_t n = strcspn(p, " \t#\n");
        p[n] = '\0';
        skip_add(s, p);
    }
    fclose(f);
}

/* ---- one case ---- */

static aws_model *case_model(const char *base, const cJSON *suite, const cJSON *c, char *err, size_t errlen)
{
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(c, "given");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(given, "name"));
    cJSON *svc = cJSON_CreateObject(), *ops = cJSON_CreateObject();
    cJSON_AddItemToObject(svc, "metadata",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(suite, "metadata"), 1));
    cJSON_AddItemToObject(svc, "shapes", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(suite, "shapes"), 1));
    cJSON_AddItemToObject(ops, name ? name : "OperationName", cJSON_Duplicate(given, 1));
    cJSON_AddItemToObject(svc, "operations", ops);
    char *text = cJSON_PrintUnformatted(svc);
    aws_model *m = model_parse(base, text, strlen(text), NULL, 0, err, errlen);
    free(text);
    cJSON_Delete(svc);
    return m;
}

static void case_response(const cJSON *r, http_response *resp)
{
    response_init(resp);
    resp->status = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "status_code"));
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(r, "headers"))
        headers_add(&resp->headers, h->string, cJSON_GetStringValue(h));
    const char *body = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "body"));
    if (body) buf_append(&resp->body, body, strlen(body));
}

static const shape *declared_error(const operation *op, const char *code)
{
    for (shape **e = op->errors; e && *e; e++)
        if (strcmp((*e)->error_code ? (*e)->error_code : (*e)->name, code) == 0) return *e;
    return NULL;
}

/* Compares the Lua value on the stack top with expected (converted via s). */
static int compare_result(lua_State *L, const cJSON *expected, const shape *s, buf *why)
{
    char err[256], path[512] = "result";
    cJSON *ours = lua_to_cjson(L, err, sizeof err);
    if (!ours) {
        buf_printf(why, "cannot encode our result: %s", err);
        return 0;
    }
    cJSON *want = cJSON_Duplicate(expected, 1);
    to_our_form(want, s, 0);
    int ok = same_json(ours, want, path, sizeof path, why);
    cJSON_Delete(ours);
    cJSON_Delete(want);
    return ok;
}

static int run_error_case(lua_State *L, const aws_model *m, const operation *op, const cJSON *c,
                          const http_response *resp, buf *why)
{
    aws_error e;
    protocol_parse_error(m, resp, &e);
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "errorCode"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "errorMessage"));
    if (strcmp(e.code, code ? code : "") != 0) {
        buf_printf(why, "code \"%s\" != \"%s\"", e.code, code ? code : "");
        return 0;
    }
    if (strcmp(e.message, msg ? msg : "") != 0) {
        buf_printf(why, "message \"%s\" != \"%s\"", e.message, msg ? msg : "");
        return 0;
    }
    if (e.status != resp->status) {
        buf_printf(why, "status %ld != %ld", e.status, resp->status);
        return 0;
    }
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(c, "error");
    char err[256];
    int top = lua_gettop(L);
    int rc = protocol_parse_error_fields(L, m, op, resp, &e, err, sizeof err);
    if (rc < 0) {
        buf_printf(why, "error fields: %s", err);
        return 0;
    }
    if (rc == 0) {
        if (cJSON_GetArraySize(fields) == 0) return 1;
        buf_printf(why, "no modeled error found for %s", e.code);
        return 0;
    }
    int ok = lua_gettop(L) == top + 1 && compare_result(L, fields, declared_error(op, e.code), why);
    lua_settop(L, top);
    return ok;
}

static int run_case(const char *base, const cJSON *suite, const cJSON *c, buf *why)
{
    char err[512];
    aws_model *m = case_model(base, suite, c, err, sizeof err);
    if (!m) {
        buf_printf(why, "model: %s", err);
        return 0;
    }
    const operation *op = &m->operations[0];
    http_response resp;
    case_response(cJSON_GetObjectItemCaseSensitive(c, "response"), &resp);
    lua_State *L = luaL_newstate();
    int ok;
    if (cJSON_GetObjectItemCaseSensitive(c, "error") || cJSON_GetObjectItemCaseSensitive(c, "errorCode")) {
        ok = run_error_case(L, m, op, c, &resp, why);
    } else if (protocol_parse(L, m, op, &resp, err, sizeof err) < 0) {
        buf_printf(why, "protocol_parse: %s", err);
        ok = 0;
    } else {
        ok = lua_gettop(L) == 1;
        if (!ok) buf_printf(why, "stack has %d values, want 1", lua_gettop(L));
        ok = ok && compare_result(L, cJSON_GetObjectItemCaseSensitive(c, "result"), op->output, why);
    }
    lua_close(L);
    response_free(&resp);
    model_free(m);
    return ok;
}

typedef struct tally {
    int passed, failed, skipped;
} tally;

static void run_file(const char *base, tally *total)
{
    char path[256];
    snprintf(path, sizeof path, SUITE_DIR "/output/%s.json", base);
    cJSON *suites = load_json(path);
    CHECK(suites != NULL, "cannot read %s", path);
    skiplist ours = {0};
    load_skip_file(&ours);
    tally t = {0};
    const cJSON *suite, *c;
    cJSON_ArrayForEach(suite, suites) {
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(suite, "cases")) {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "id"));
            buf why = {0};
            int ok = run_case(base, suite, c, &why);
            if (skip_has(&ours, id)) {
                CHECK(!ok, "%s %s passes but skip-output.txt lists it: remove the line", base, id);
                t.skipped++;
            } else {
                CHECK(ok, "%s %s: %s", base, id, buf_cstr(&why));
                if (ok) t.passed++; else t.failed++;
            }
            buf_free(&why);
        }
    }
    printf("%-10s %3d passed, %d failed, %d skipped (skip-output.txt)\n", base, t.passed, t.failed, t.skipped);
    total->passed += t.passed;
    total->failed += t.failed;
    total->skipped += t.skipped;
    skip_free(&ours);
    cJSON_Delete(suites);
}

/* ==== our own cases ==== */

/* A model from inline JSON (single quotes stand for double quotes). */
static aws_model *inline_model(const char *service, const char *text)
{
    char *json = strdup(text), err[256];
    for (char *p = json; *p; p++)
        if (*p == '\'') *p = '"';
    aws_model *m = model_parse(service, json, strlen(json), NULL, 0, err, sizeof err);
    if (!m) printf("inline model %s: %s\n", service, err);
    free(json);
    return m;
}

static void set_response(http_response *r, long status, const char *body)
{
    response_free(r);
    response_init(r);
    r->status = status;
    if (body) buf_append(&r->body, body, strlen(body));
}

/* Navigates the table on the stack top: "Reservations.1.Instances.2.State.Name";
 * pushes the value found (nil when absent). */
static void get_path(lua_State *L, const char *path)
{
    char part[64];
    lua_pushvalue(L, -1);
    while (*path) {
        size_t n = strcspn(path, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, path);
        path += n + (path[n] == '.');
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_pushnil(L);
            return;
        }
        char *end;
        long idx = strtol(part, &end, 10);
        if (*end == '\0') lua_rawgeti(L, -1, idx); else lua_getfield(L, -1, part);
        lua_remove(L, -2);
    }
}

static const char *str_at(lua_State *L, const char *path)
{
    get_path(L, path);
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1);           /* the string stays alive in the result table */
    return s;
}

static int is_array_at(lua_State *L, const char *path)
{
    get_path(L, path);
    int yes = lua_istable(L, -1) && luajson_is_array(L, -1);
    lua_pop(L, 1);
    return yes;
}

static lua_Integer int_at(lua_State *L, const char *path)
{
    get_path(L, path);
    lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -424242;
    lua_pop(L, 1);
    return v;
}

static const char describe_instances_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
    "  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>\n"
    "  <reservationSet>\n"
    "    <item>\n"
    "      <reservationId>r-1234567890abcdef0</reservationId>\n"
    "      <ownerId>123456789012</ownerId>\n"
    "      <groupSet/>\n"
    "      <instancesSet>\n"
    "        <item>\n"
    "          <instanceId>i-1234567890abcdef0</instanceId>\n"
    "          <imageId>ami-bff32ccc</imageId>\n"
    "          <instanceState><code>16</code><name>running</name></instanceState>\n"
    "          <privateDnsName>ip-192-168-1-88.eu-west-1.compute.internal</privateDnsName>\n"
    "          <launchTime>2018-05-08T16:46:19.000Z</launchTime>\n"
    "          <placement><availabilityZone>eu-west-1c</availabilityZone></placement>\n"
    "          <monitoring><state>disabled</state></monitoring>\n"
    "          <groupSet><item><groupId>sg-e4076980</groupId><groupName>SecurityGroup1</groupName></item></groupSet>\n"
    "          <tagSet>\n"
    "            <item><key>Name</key><value>web &amp; api</value></item>\n"
    "            <item><key>env</key><value>prod</value></item>\n"
    "          </tagSet>\n"
    "          <ebsOptimized>false</ebsOptimized>\n"
    "          <unknownFutureField><nested>x</nested></unknownFutureField>\n"
    "        </item>\n"
    "      </instancesSet>\n"
    "    </item>\n"
    "  </reservationSet>\n"
    "</DescribeInstancesResponse>\n";

static void test_describe_instances(void)
{
    model_registry *reg = model_registry_new("models");
    char err[512];
    const aws_model *m = model_registry_get(reg, "ec2", err, sizeof err);
    CHECK(m != NULL, "ec2 model: %s", err);
    if (!m) {
        model_registry_free(reg);
        return;
    }
    const operation *op = model_operation(m, "DescribeInstances");
    http_response r;
    response_init(&r);
    set_response(&r, 200, describe_instances_xml);
    lua_State *L = luaL_newstate();
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == 0, "DescribeInstances: %s", err);
    CHECK(lua_gettop(L) == 1, "one result pushed, got %d", lua_gettop(L));
    CHECK_STR(str_at(L, "Reservations.1.ReservationId"), "r-1234567890abcdef0");
    CHECK_STR(str_at(L, "Reservations.1.Instances.1.InstanceId"), "i-1234567890abcdef0");
    CHECK_STR(str_at(L, "Reservations.1.Instances.1.State.Name"), "running");
    CHECK(int_at(L, "Reservations.1.Instances.1.State.Code") == 16, "State.Code is the integer 16");
    CHECK_STR(str_at(L, "Reservations.1.Instances.1.LaunchTime"), "2018-05-08T16:46:19+00:00");
    CHECK_STR(str_at(L, "Reservations.1.Instances.1.Tags.1.Value"), "web & api");
    CHECK_STR(str_at(L, "Reservations.1.Instances.1.SecurityGroups.1.GroupId"), "sg-e4076980");
    CHECK(is_array_at(L, "Reservations"), "Reservations carries the array metatable");
    CHECK(is_array_at(L, "Reservations.1.Groups"), "an empty <groupSet/> is an empty array");
    CHECK(is_array_at(L, "Reservations.1.Instances.1.Tags"), "Tags carries the array metatable");
    get_path(L, "Reservations.1.Instances.1.EbsOptimized");
    CHECK(lua_isboolean(L, -1) && !lua_toboolean(L, -1), "EbsOptimized is the boolean false");
    lua_pop(L, 1);
    get_path(L, "requestId");
    CHECK(lua_isnil(L, -1), "requestId is not an output member");
    lua_pop(L, 1);

    /* Truncated and malformed pages fail with a message naming the call and the line. */
    for (size_t cut = 0; cut < sizeof describe_instances_xml - 1; cut++) {
        http_response t;
        response_init(&t);
        t.status = 200;
        buf_append(&t.body, describe_instances_xml, cut);
        lua_settop(L, 0);
        int rc = protocol_parse(L, m, op, &t, err, sizeof err);
        int blank = strspn(describe_instances_xml, " \n") >= cut;
        int complete = cut >= sizeof describe_instances_xml - 2;   /* all but the final newline */
        if (!(rc == (blank || complete ? 0 : -1) && lua_gettop(L) == (rc == 0)))
            CHECK(0, "truncated at %zu: rc %d, stack %d, %s", cut, rc, lua_gettop(L), err);
        response_free(&t);
    }
    test_passed++;
    set_response(&r, 200, "<DescribeInstancesResponse>\n<reservationSet>\n<item><reservationId>r-1</reservationId>");
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == -1, "truncated XML fails");
    CHECK(strstr(err, "EC2 DescribeInstances: malformed XML response at line 3") == err, "message: %s", err);
    set_response(&r, 200, "<a><b></a>");
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == -1 && strstr(err, "mismatched tag"), "%s", err);
    set_response(&r, 200, "{\"Reservations\": []}");
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == -1 && strstr(err, "malformed XML"), "%s", err);

    /* Deeply nested input ends in an error, not a crash. */
    buf deep = {0};
    for (int i = 0; i < 5000; i++) buf_puts(&deep, "<reservationSet>");
    set_response(&r, 200, buf_cstr(&deep));
    lua_settop(L, 0);
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == -1 && lua_gettop(L) == 0, "deep XML: %s", err);
    buf_free(&deep);

    /* An XML error of each layout. */
    aws_error e;
    set_response(&r, 400, "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>"
                          "<Message>The instance ID 'i-1' does not exist</Message></Error></Errors>"
                          "<RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>");
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "InvalidInstanceID.NotFound");
    CHECK_STR(e.message, "The instance ID 'i-1' does not exist");
    CHECK_STR(e.request_id, "ea966190-f9aa-478e-9ede-example");
    CHECK(e.status == 400, "status 400");
    set_response(&r, 503, "<html><body>Service Unavailable</body>");
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "HTTP 503");
    CHECK(strstr(e.message, "<html><body>Service Unavailable") != NULL, "excerpt: %s", e.message);
    set_response(&r, 500, NULL);
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "HTTP 500");
    CHECK_STR(e.message, "");

    lua_close(L);
    response_free(&r);
    model_registry_free(reg);
}

static void test_json_cases(void)
{
    aws_model *m = inline_model("test",
        "{'metadata':{'protocol':'json','jsonVersion':'1.1','targetPrefix':'T','serviceId':'Test',"
        "  'awsQueryCompatible':{}},"
        " 'shapes':{'Out':{'type':'structure','members':{'Big':{'shape':'L'},'Neg':{'shape':'L'},"
        "   'Huge':{'shape':'L'},'When':{'shape':'T'},'Items':{'shape':'List'},'Doc':{'shape':'D'},"
        "   'Name':{'shape':'S','locationName':'name'}}},"
        "  'L':{'type':'long'},'T':{'type':'timestamp'},'S':{'type':'string'},"
        "  'D':{'type':'structure','members':{},'document':true},"
        "  'List':{'type':'list','member':{'shape':'S'}}},"
        " 'operations':{'Op':{'name':'Op','output':{'shape':'Out'}}}}");
    if (!m) return;
    const operation *op = model_operation(m, "Op");
    http_response r;
    response_init(&r);
    lua_State *L = luaL_newstate();
    char err[512];
    set_response(&r, 200, "{\"Big\": 1234567890123456789, \"Neg\": -9223372036854775808, \"Huge\": 1e300,"
                          " \"When\": 1398796238.5, \"Items\": [], \"name\": \"caf\\u00e9 \\ud83d\\ude00\","
                          " \"Doc\": {\"a\": [1, null, 2.5, {\"b\": null}]}, \"Extra\": {\"x\": [1,2]}}");
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == 0, "json: %s", err);
    CHECK(int_at(L, "Big") == 1234567890123456789LL, "longs keep all 64 bits");
    CHECK(int_at(L, "Neg") == (lua_Integer)(-9223372036854775807LL - 1), "LLONG_MIN");
    CHECK_STR(str_at(L, "When"), "2014-04-29T18:30:38.500000+00:00");
    CHECK(is_array_at(L, "Items"), "an empty list carries the array metatable");
    CHECK_STR(str_at(L, "Name"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
    get_path(L, "Doc.a.2");
    CHECK(lua_touserdata(L, -1) != NULL, "a null inside a document array keeps its place");
    lua_pop(L, 1);
    get_path(L, "Extra");
    CHECK(lua_isnil(L, -1), "unknown keys are ignored");
    lua_settop(L, 0);

    /* Times beyond year 9999 are no values; numbers beyond a double's range
     * fail the response (a field would go missing). */
    set_response(&r, 200, "{\"When\": 1e300, \"Items\": [\"x\"]}");
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == 0, "json: %s", err);
    get_path(L, "When");
    CHECK(lua_isnil(L, -1), "a timestamp in the year 10^292 is absent");
    lua_pop(L, 1);
    buf enc = {0};
    CHECK(luajson_encode(L, -1, &enc, 0, err, sizeof err) == 0, "the result still encodes: %s", err);
    buf_free(&enc);
    lua_settop(L, 0);
    static const char *range[] = { "{\"Big\": 1e999}", "{\"Doc\": [1e999, 2]}", "{\"Big\": -1e400}" };
    for (size_t i = 0; i < sizeof range / sizeof *range; i++) {
        set_response(&r, 200, range[i]);
        int rc = protocol_parse(L, m, op, &r, err, sizeof err);
        CHECK(rc == -1 && lua_gettop(L) == 0 && strstr(err, "number out of range"), "%s: rc %d, %s", range[i], rc,
              err);
    }
    static const char *utf8[] = { "{\"name\": \"a\xff b\"}", "{\"name\": \"\xc0\x80\"}",
                                  "{\"name\": \"\xed\xa0\x80\"}", "{\"name\": \"\xf4\x90\x80\x80\"}",
                                  "{\"name\": \"\xe2\x82\"}", "{\"Doc\": {\"\xfe\": 1}}" };
    for (size_t i = 0; i < sizeof utf8 / sizeof *utf8; i++) {
        set_response(&r, 200, utf8[i]);
        int rc = protocol_parse(L, m, op, &r, err, sizeof err);
        CHECK(rc == -1 && lua_gettop(L) == 0 && strstr(err, "invalid UTF-8"), "bad UTF-8 %zu: rc %d, %s", i, rc, err);
    }

    static const char *bad[] = { "{\"Big\": 1,}", "{\"Big\" 1}", "[1, 2", "{\"name\": \"abc",
                                 "{\"name\": \"\\x\"}", "{} {}", "nul", "<?xml version=\"1.0\"?><Out/>" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        set_response(&r, 200, bad[i]);
        int rc = protocol_parse(L, m, op, &r, err, sizeof err);
        CHECK(rc == -1 && lua_gettop(L) == 0 && strstr(err, "Test Op: malformed JSON response at line 1"),
              "bad JSON %s: rc %d, %s", bad[i], rc, err);
    }
    set_response(&r, 200, "{\"name\": \"a\\\"b\\");                     /* ends in an escape's backslash */
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == -1 && strstr(err, "unterminated string"), "%s", err);
    set_response(&r, 200, "<html>oops</html>");
    protocol_parse(L, m, op, &r, err, sizeof err);
    CHECK(strstr(err, "XML or HTML") != NULL, "an XML body where JSON is expected: %s", err);
    buf deep = {0};
    for (int i = 0; i < 100000; i++) buf_putc(&deep, '[');
    set_response(&r, 200, "");
    buf_puts(&r.body, "{\"Doc\": ");
    buf_append(&r.body, deep.data, deep.len);
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == -1 && strstr(err, "nested too deep"), "%s", err);
    buf_free(&deep);

    /* Errors: "__type" with namespace, the query-compatible header, request ids. */
    aws_error e;
    set_response(&r, 400, "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"The specified queue does not exist.\"}");
    headers_add(&r.headers, "x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender");
    headers_add(&r.headers, "x-amzn-RequestId", "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "AWS.SimpleQueueService.NonExistentQueue");
    CHECK_STR(e.message, "The specified queue does not exist.");
    CHECK_STR(e.request_id, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
    set_response(&r, 400, "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"Message\":\"m\"}");
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "QueueDoesNotExist");
    CHECK_STR(e.message, "m");

    /* Truncations of a valid body never crash and never unbalance the stack. */
    const char *ok_body = "{\"Big\":12,\"Items\":[\"a\",\"b\\n\"],\"Doc\":{\"k\":[true,false,null,1.5e3]},\"When\":\"2014-04-29T18:30:38Z\"}";
    for (size_t cut = 1; cut < strlen(ok_body); cut++) {
        set_response(&r, 200, "");
        buf_append(&r.body, ok_body, cut);
        lua_settop(L, 0);
        int rc = protocol_parse(L, m, op, &r, err, sizeof err);
        if (rc != -1 || lua_gettop(L) != 0) CHECK(0, "JSON truncated at %zu: rc %d", cut, rc);
    }
    test_passed++;

    lua_close(L);
    response_free(&r);
    model_free(m);
}

static void test_rest_cases(void)
{
    aws_model *m = inline_model("s3",
        "{'metadata':{'protocol':'rest-xml','serviceId':'S3'},"
        " 'shapes':{'HeadOut':{'type':'structure','members':{"
        "   'ContentLength':{'shape':'L','location':'header','locationName':'Content-Length'},"
        "   'LastModified':{'shape':'T','location':'header','locationName':'Last-Modified'},"
        "   'Metadata':{'shape':'Meta','location':'headers','locationName':'x-amz-meta-'},"
        "   'Missing':{'shape':'S','location':'header','locationName':'x-amz-missing'}}},"
        "  'GetOut':{'type':'structure','members':{'Body':{'shape':'Blob','streaming':true},"
        "   'ETag':{'shape':'S','location':'header','locationName':'ETag'}},'payload':'Body'},"
        "  'LocOut':{'type':'structure','members':{'LocationConstraint':{'shape':'S'}}},"
        "  'Meta':{'type':'map','key':{'shape':'S'},'value':{'shape':'S'}},"
        "  'L':{'type':'long'},'T':{'type':'timestamp'},'S':{'type':'string'},'Blob':{'type':'blob','streaming':true}},"
        " 'operations':{'HeadObject':{'name':'HeadObject','http':{'method':'HEAD','requestUri':'/'},'output':{'shape':'HeadOut'}},"
        "  'GetObject':{'name':'GetObject','http':{'method':'GET','requestUri':'/'},'output':{'shape':'GetOut'}},"
        "  'GetBucketLocation':{'name':'GetBucketLocation','output':{'shape':'LocOut'}}}}");
    if (!m) return;
    http_response r;
    response_init(&r);
    lua_State *L = luaL_newstate();
    char err[512];

    set_response(&r, 200, NULL);
    headers_add(&r.headers, "content-length", "3191");
    headers_add(&r.headers, "Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT");
    headers_add(&r.headers, "X-Amz-Meta-Owner-Team", "platform");
    CHECK(protocol_parse(L, m, model_operation(m, "HeadObject"), &r, err, sizeof err) == 0, "%s", err);
    CHECK(int_at(L, "ContentLength") == 3191, "Content-Length as an integer");
    CHECK_STR(str_at(L, "LastModified"), "2015-10-21T07:28:00+00:00");
    CHECK_STR(str_at(L, "Metadata.Owner-Team"), "platform");
    get_path(L, "Missing");
    CHECK(lua_isnil(L, -1), "absent header, absent member");
    lua_settop(L, 0);

    static const char binary[] = "\x00\x01\xff binary \x00 body";
    set_response(&r, 200, NULL);
    buf_append(&r.body, binary, sizeof binary - 1);
    headers_add(&r.headers, "ETag", "\"abc\"");
    CHECK(protocol_parse(L, m, model_operation(m, "GetObject"), &r, err, sizeof err) == 0, "%s", err);
    lua_getfield(L, -1, "Body");
    size_t n;
    const char *body = lua_tolstring(L, -1, &n);
    CHECK(body && n == sizeof binary - 1 && memcmp(body, binary, n) == 0, "a blob payload is the raw body");
    lua_settop(L, 0);

    const operation *loc = model_operation(m, "GetBucketLocation");
    set_response(&r, 200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>");
    CHECK(protocol_parse(L, m, loc, &r, err, sizeof err) == 0, "%s", err);
    CHECK_STR(str_at(L, "LocationConstraint"), "eu-west-1");
    lua_settop(L, 0);
    set_response(&r, 200, "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
    CHECK(protocol_parse(L, m, loc, &r, err, sizeof err) == 0, "%s", err);
    get_path(L, "LocationConstraint");
    CHECK(lua_isnil(L, -1), "<LocationConstraint/> (us-east-1) is absent, as botocore has it");
    lua_settop(L, 0);

    aws_error e;
    set_response(&r, 404, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>"
                          "<Message>The specified bucket does not exist</Message><BucketName>b</BucketName>"
                          "<RequestId>4442587FB7D0A2F9</RequestId><HostId>abc=</HostId></Error>");
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "NoSuchBucket");
    CHECK_STR(e.message, "The specified bucket does not exist");
    CHECK_STR(e.request_id, "4442587FB7D0A2F9");
    set_response(&r, 404, NULL);
    headers_add(&r.headers, "x-amz-request-id", "REQ1");
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "HTTP 404");
    CHECK_STR(e.request_id, "REQ1");

    lua_close(L);
    response_free(&r);
    model_free(m);

    m = inline_model("lambda", "{'metadata':{'protocol':'rest-json','serviceId':'Lambda'},'shapes':{},"
                               "'operations':{'GetFunction':{'name':'GetFunction'}}}");
    if (!m) return;
    response_init(&r);
    set_response(&r, 404, "{\"Type\":\"User\",\"Message\":\"Function not found: arn:aws:lambda:x\",\"code\":\"Other\"}");
    headers_add(&r.headers, "X-Amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/");
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "ResourceNotFoundException");
    CHECK_STR(e.message, "Function not found: arn:aws:lambda:x");
    response_free(&r);
    model_free(m);
}

static void test_query_cases(void)
{
    aws_model *m = inline_model("sts",
        "{'metadata':{'protocol':'query','serviceId':'STS','apiVersion':'2011-06-15'},"
        " 'shapes':{'Out':{'type':'structure','members':{'Arn':{'shape':'S'},'Data':{'shape':'B'},"
        "   'Count':{'shape':'L'},'Attrs':{'shape':'Attrs','locationName':'Attribute'}}},"
        "  'Attrs':{'type':'map','key':{'shape':'S','locationName':'Name'},"
        "   'value':{'shape':'S','locationName':'Value'},'flattened':true},"
        "  'S':{'type':'string'},'B':{'type':'blob'},'L':{'type':'long'}},"
        " 'operations':{'GetCallerIdentity':{'name':'GetCallerIdentity',"
        "   'output':{'shape':'Out','resultWrapper':'GetCallerIdentityResult'}}}}");
    if (!m) return;
    const operation *op = model_operation(m, "GetCallerIdentity");
    http_response r;
    response_init(&r);
    lua_State *L = luaL_newstate();
    char err[512];
    set_response(&r, 200,
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        " <GetCallerIdentityResult>\n"
        "  <Arn>arn:aws:iam::123456789012:user/Alice</Arn>\n"
        "  <Data>\n   aGVsbG8g\n   d29ybGQ=\n  </Data>\n"
        "  <Count>99999999999999999999</Count>\n"
        "  <Attribute><Name>Policy</Name><Value>{&quot;a&quot;: 1}</Value></Attribute>\n"
        "  <Attribute><Name>Delay</Name><Value>0</Value></Attribute>\n"
        " </GetCallerIdentityResult>\n"
        " <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>\n"
        "</GetCallerIdentityResponse>");
    CHECK(protocol_parse(L, m, op, &r, err, sizeof err) == 0, "query: %s", err);
    CHECK_STR(str_at(L, "Arn"), "arn:aws:iam::123456789012:user/Alice");
    CHECK_STR(str_at(L, "Data"), "aGVsbG8gd29ybGQ=");
    get_path(L, "Count");
    CHECK(lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1), "a long beyond 64 bits becomes a float");
    lua_pop(L, 1);
    CHECK_STR(str_at(L, "Attrs.Policy"), "{\"a\": 1}");
    CHECK_STR(str_at(L, "Attrs.Delay"), "0");
    get_path(L, "ResponseMetadata");
    CHECK(lua_isnil(L, -1), "ResponseMetadata is not part of the result");
    lua_settop(L, 0);

    aws_error e;
    set_response(&r, 503, "<html><body><h1>503 Service Unavailable</h1></body></html>");
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "HTTP 503");
    CHECK(strstr(e.message, "503 Service Unavailable") != NULL, "well-formed but not an AWS error: %s", e.message);
    set_response(&r, 403, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
                          "<Code>AccessDenied</Code><Message>User is not authorized</Message></Error>"
                          "<RequestId>abc-123</RequestId></ErrorResponse>");
    protocol_parse_error(m, &r, &e);
    CHECK_STR(e.code, "AccessDenied");
    CHECK_STR(e.message, "User is not authorized");
    CHECK_STR(e.request_id, "abc-123");
    CHECK(protocol_parse_error_fields(L, m, op, &r, &e, err, sizeof err) == 0 && lua_gettop(L) == 0,
          "an undeclared error has no modeled fields");

    lua_close(L);
    response_free(&r);
    model_free(m);
}

int main(void)
{
    static const char *files[] = { "ec2", "query", "json", "json_1_0", "rest-json", "rest-xml" };
    tally total = {0};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) run_file(files[i], &total);
    printf("conformance: %d passed, %d failed, %d skipped (skip-output.txt)\n", total.passed, total.failed,
           total.skipped);
    test_describe_instances();
    test_json_cases();
    test_rest_cases();
    test_query_cases();
    return test_summary();
}
