/* test_protocol_input.c -- the request serializers (protocol_serialize) held
 * to AWS's protocol test suite, plus checks of their validation messages.
 *
 * tests/conformance/aws-protocols/input/<protocol>.json is botocore's copy of
 * the Smithy protocol tests: suites of {metadata, shapes, cases}, each case
 * an operation ("given"), boto3 params and the request they must become.
 * For every case we compile a one-operation model (model_parse), decode the
 * params with luajson, serialize, and compare as botocore's test_protocols.py
 * does:
 *   method     equal, when the case names one
 *   uri        path equal; query parameters equal as a multiset (any order)
 *   headers    every expected header present and equal; forbidHeaders absent.
 *              botocore's adjustments: query/ec2 Content-Type gains
 *              "; charset=utf-8" (what botocore and we send); rest-xml
 *              Content-Type and non-JSON rest-json Content-Type are not
 *              checked (neither botocore nor we set them); list headers are
 *              compared without the space after commas.
 *   body       JSON bodies as parsed JSON; form bodies as a multiset of
 *              pairs; XML bodies after dropping whitespace between tags
 *              (whitespace inside a leaf element is kept); else byte-equal
 *   host       hostPrefix + the suite's clientEndpoint host, when expected
 * "requireHeaders" (Content-Length) is the HTTP layer's job, not checked.
 *
 * Every case runs. A case may fail only when skip-input.txt lists it with a
 * reason (one id per line, '#' reason); a listed case that passes is a
 * failure too, so the list stays true. (botocore's own ignore list,
 * protocol-tests-ignore-list.json, is kept for reference, not consulted.)
 * AWSTOPO_CONFORMANCE_DUMP=1 prints every request built.
 *
 * JSON objects keep their order in the params (an ordered __pairs
 * metatable), because a few cases expect map entries in input order; plain
 * Lua tables are serialized with sorted keys.
 */
#include <cjson/cJSON.h>
#include <expat.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "luajson.h"
#include "model.h"
#include "protocol.h"
#include "serialize.h"
#include "testlib.h"
#include "util.h"

#ifndef SUITE_DIR   /* -DSUITE_DIR=... runs another suite of the same format */
#define SUITE_DIR "tests/conformance/aws-protocols"
#endif

static const char *protocols[] = { "ec2", "query", "json", "json_1_0", "rest-json", "rest-xml" };

/* ---- small string helpers ---- */

static cJSON *read_json(const char *path)
{
    size_t len;
    char *text = read_file_maybe_gz(path, &len);
    cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    if (!j) printf("cannot read %s\n", path);
    return j;
}

static int compare_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a=1&b=2" -> sorted "a=1", "b=2" joined by '\n', for multiset comparison. */
static char *sorted_pairs(const char *s, size_t n)
{
    char *copy = xstrndup(s, n), **parts = xmalloc((n + 1) * sizeof *parts);
    size_t count = 0;
    for (char *save = NULL, *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save))
        parts[count++] = p;
    qsort(parts, count, sizeof *parts, compare_cstr);
    buf out = {0};
    for (size_t i = 0; i < count; i++) buf_printf(&out, "%s\n", parts[i]);
    free(parts);
    free(copy);
    return out.data ? buf_steal(&out) : xstrdup("");
}

static void replace_all(buf *b, const char *from, const char *to)
{
    buf out = {0};
    const char *s = buf_cstr(b), *hit;
    size_t n = strlen(from);
    while ((hit = strstr(s, from))) {
        buf_append(&out, s, (size_t)(hit - s));
        buf_puts(&out, to);
        s = hit + n;
    }
    buf_puts(&out, s);
    buf_free(b);
    *b = out;
}

/* ---- skip lists ---- */

typedef struct skips {
    cJSON *own;         /* our skip-input.txt as {id: reason} */
    int bad_entries;    /* skip lines without a reason */
} skips;

static void load_skips(skips *s)
{
    s->own = cJSON_CreateObject();
    FILE *f = fopen(SUITE_DIR "/skip-input.txt", "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *hash = strchr(line, '#'), *id = line;
        if (hash) *hash = '\0';
        id += strspn(id, " \t");
        id[strcspn(id, " \t")] = '\0';
        if (!*id) continue;
        const char *reason = hash ? hash + 1 + strspn(hash + 1, " \t") : "";
        if (!*reason) {
            printf("skip-input.txt: %s has no reason\n", id);
            s->bad_entries++;
        }
        cJSON_AddStringToObject(s->own, id, reason);
    }
    if (f) fclose(f);
}

static const char *skip_reason(const skips *s, const char *id)
{
    const cJSON *own = cJSON_GetObjectItem(s->own, id);
    return own ? own->valuestring : NULL;
}

/* ---- the model of one case ---- */

static aws_model *case_model(const cJSON *suite, const cJSON *given, char *err, size_t errlen)
{
    cJSON *svc = cJSON_CreateObject(), *ops = cJSON_CreateObject();
    cJSON_AddItemToObject(svc, "metadata", cJSON_Duplicate(cJSON_GetObjectItem(suite, "metadata"), 1));
    cJSON_AddItemToObject(svc, "shapes", cJSON_Duplicate(cJSON_GetObjectItem(suite, "shapes"), 1));
    cJSON_AddItemToObject(ops, cJSON_GetObjectItem(given, "name")->valuestring, cJSON_Duplicate(given, 1));
    cJSON_AddItemToObject(svc, "operations", ops);
    char *text = cJSON_PrintUnformatted(svc);
    aws_model *m = model_parse("conformance", text, strlen(text), NULL, 0, err, errlen);
    free(text);
    cJSON_Delete(svc);
    return m;
}

/* ---- the params of one case ---- */

static const char ordered_lua[] =
    "return function(t, keys)\n"
    "  return setmetatable(t, { __pairs = function(tt)\n"
    "    local i = 0\n"
    "    return function() i = i + 1; local k = keys[i]; if k ~= nil then return k, tt[k] end end, tt, nil\n"
    "  end })\n"
    "end\n";

/* Gives the object at idx (decoded from j) and the objects inside it an
 * ordered __pairs, so that maps are serialized in the JSON order. */
static void keep_order(lua_State *L, int idx, const cJSON *j)
{
    idx = lua_absindex(L, idx);
    int i = 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        i++;
        if (!cJSON_IsObject(c) && !cJSON_IsArray(c)) continue;
        if (cJSON_IsObject(j)) lua_getfield(L, idx, c->string);
        else lua_rawgeti(L, idx, i);
        if (lua_istable(L, -1)) keep_order(L, -1, c);
        lua_pop(L, 1);
    }
    if (!cJSON_IsObject(j)) return;
    lua_getfield(L, LUA_REGISTRYINDEX, "test.ordered");
    lua_pushvalue(L, idx);
    lua_newtable(L);
    int n = 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        if (cJSON_IsNull(c)) continue;
        lua_pushstring(L, c->string);
        lua_rawseti(L, -2, ++n);
    }
    lua_call(L, 2, 0);
}

/* The suite writes NaN and infinities as strings; like botocore's runner we
 * turn top-level ones into numbers where the member is a float. */
static void special_floats(lua_State *L, int idx, const shape *in)
{
    for (size_t i = 0; in && i < in->nmembers; i++) {
        const member *mb = &in->members[i];
        if (mb->shape->type != SHAPE_FLOAT && mb->shape->type != SHAPE_DOUBLE) continue;
        lua_getfield(L, idx, mb->name);
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        double d = strcmp(s, "NaN") == 0 ? NAN : strcmp(s, "Infinity") == 0 ? INFINITY
                 : strcmp(s, "-Infinity") == 0 ? -INFINITY : 0;
        lua_pop(L, 1);
        if (d == 0) continue;
        lua_pushnumber(L, d);
        lua_setfield(L, idx, mb->name);
    }
}

static int push_params(lua_State *L, const cJSON *params, const operation *op)
{
    char *text = cJSON_PrintUnformatted(params);
    char err[256];
    int rc = luajson_decode(L, text, strlen(text), 0, err, sizeof err);
    free(text);
    if (rc < 0) {
        printf("params: %s\n", err);
        return -1;
    }
    keep_order(L, -1, params);
    special_floats(L, lua_gettop(L), op->input);
    return 0;
}

/* ---- XML canonical form: whitespace between tags dropped ---- */

typedef struct canon {
    buf out;
    buf text;            /* character data not yet written */
    int had_child[256];  /* per open element: has it child elements? */
    int depth;
} canon;

static void put_escaped(buf *out, const char *s, size_t n, int attr)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '&') buf_puts(out, "&amp;");
        else if (s[i] == '<') buf_puts(out, "&lt;");
        else if (s[i] == '>') buf_puts(out, "&gt;");
        else if (attr && s[i] == '"') buf_puts(out, "&quot;");
        else buf_putc(out, s[i]);
    }
}

/* Whitespace-only text beside child elements is indentation; in a leaf
 * element it is the value. */
static void canon_flush(canon *k, int leaf)
{
    size_t n = k->text.len;
    if (n && (leaf || strspn(k->text.data, " \t\r\n") != n)) put_escaped(&k->out, k->text.data, n, 0);
    buf_clear(&k->text);
}

static void XMLCALL canon_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    canon *k = ud;
    canon_flush(k, 0);
    if (k->depth > 0) k->had_child[k->depth - 1] = 1;
    buf_printf(&k->out, "<%s", name);
    for (int i = 0; atts[i]; i += 2) {
        buf_printf(&k->out, " %s=\"", atts[i]);
        put_escaped(&k->out, atts[i + 1], strlen(atts[i + 1]), 1);
        buf_putc(&k->out, '"');
    }
    buf_putc(&k->out, '>');
    if (k->depth < 255) k->had_child[k->depth++] = 0;
}

static void XMLCALL canon_end(void *ud, const XML_Char *name)
{
    canon *k = ud;
    canon_flush(k, k->depth > 0 && !k->had_child[k->depth - 1]);
    buf_printf(&k->out, "</%s>", name);
    if (k->depth > 0) k->depth--;
}

static void XMLCALL canon_text(void *ud, const XML_Char *s, int len)
{
    buf_append(&((canon *)ud)->text, s, (size_t)len);
}

/* Returns the canonical form (caller frees), or NULL when not XML. */
static char *xml_canonical(const char *s, size_t n)
{
    canon k = {0};
    XML_Parser p = XML_ParserCreate(NULL);
    XML_SetUserData(p, &k);
    XML_SetElementHandler(p, canon_start, canon_end);
    XML_SetCharacterDataHandler(p, canon_text);
    int ok = n > 0 && XML_Parse(p, s, (int)n, 1) == XML_STATUS_OK;
    XML_ParserFree(p);
    buf_free(&k.text);
    if (!ok) {
        buf_free(&k.out);
        return NULL;
    }
    return buf_steal(&k.out);
}

/* ---- comparing one request ---- */

typedef struct check {
    const char *proto;
    const cJSON *suite, *expect;
    const operation *op;
    const http_request *req;
    const char *host_prefix;
    buf why;             /* what differs, for the failure message */
} check;

static int is_json(const char *proto)
{
    return strcmp(proto, "json") == 0 || strcmp(proto, "json_1_0") == 0 || strcmp(proto, "rest-json") == 0;
}

static int is_form(const char *proto)
{
    return strcmp(proto, "ec2") == 0 || strcmp(proto, "query") == 0;
}

static int bodies_equal(const char *proto, const char *want, const buf *got)
{
    const char *g = buf_cstr((buf *)got);
    if (is_form(proto)) {
        char *a = sorted_pairs(want, strlen(want)), *b = sorted_pairs(g, got->len);
        int eq = strcmp(a, b) == 0;
        free(a);
        free(b);
        return eq;
    }
    if (is_json(proto)) {
        cJSON *a = cJSON_Parse(want), *b = cJSON_ParseWithLength(g, got->len);
        int parsed = a && b, eq = parsed && cJSON_Compare(a, b, 1);
        cJSON_Delete(a);
        cJSON_Delete(b);
        if (parsed || strcmp(proto, "rest-json") != 0) return eq;
    } else if (strcmp(proto, "rest-xml") == 0) {
        char *a = xml_canonical(want, strlen(want)), *b = xml_canonical(g, got->len);
        int eq = a && b && strcmp(a, b) == 0, parsed = a != NULL;
        free(a);
        free(b);
        if (parsed) return eq;
    }
    return strlen(want) == got->len && memcmp(want, g, got->len) == 0;
}

static void check_body(check *k)
{
    const cJSON *want = cJSON_GetObjectItem(k->expect, "body");
    if (!cJSON_IsString(want) || bodies_equal(k->proto, want->valuestring, &k->req->body)) return;
    buf_printf(&k->why, "\n    body want: %s\n    body got:  %s", want->valuestring, buf_cstr((buf *)&k->req->body));
}

static void check_uri(check *k)
{
    const cJSON *want = cJSON_GetObjectItem(k->expect, "uri");
    if (!cJSON_IsString(want)) return;
    const char *w = want->valuestring, *wq = strchr(w, '?');
    size_t wpath = wq ? (size_t)(wq - w) : strlen(w);
    int eq = strlen(k->req->path) == wpath && strncmp(k->req->path, w, wpath) == 0;
    char *a = sorted_pairs(wq ? wq + 1 : "", wq ? strlen(wq + 1) : 0);
    char *b = sorted_pairs(k->req->query, strlen(k->req->query));
    eq = eq && strcmp(a, b) == 0;
    free(a);
    free(b);
    if (!eq) buf_printf(&k->why, "\n    uri want: %s\n    uri got:  %s%s%s", w, k->req->path,
                        k->req->query[0] ? "?" : "", k->req->query);
}

static const member *list_header_member(const operation *op, const char *name)
{
    for (size_t i = 0; op->input && i < op->input->nmembers; i++) {
        const member *mb = &op->input->members[i];
        if (mb->location == LOC_HEADER && mb->shape->type == SHAPE_LIST &&
            strcasecmp(ser_wire_name(mb), name) == 0)
            return mb;
    }
    return NULL;
}

/* The expected value of header `name` after botocore's adjustments, or NULL
 * when it is not checked. Caller frees. */
static char *expected_header(const check *k, const char *name, const char *value)
{
    int content_type = strcasecmp(name, "Content-Type") == 0;
    if (content_type && strcmp(k->proto, "rest-xml") == 0) return NULL;
    if (content_type && strcmp(k->proto, "rest-json") == 0 && strcmp(value, "application/json") != 0)
        return NULL;
    buf b = {0};
    buf_puts(&b, value);
    if (content_type && is_form(k->proto) && !strstr(value, "charset=utf-8")) buf_puts(&b, "; charset=utf-8");
    if (list_header_member(k->op, name)) replace_all(&b, ", ", ",");
    return b.data ? buf_steal(&b) : xstrdup("");
}

static void check_headers(check *k)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(k->expect, "headers")) {
        char *want = expected_header(k, h->string, h->valuestring);
        if (!want) continue;
        const char *got = headers_get(&k->req->headers, h->string);
        buf g = {0};
        buf_puts(&g, got ? got : "");
        const member *mb = list_header_member(k->op, h->string);
        if (mb && mb->shape->element.shape->type == SHAPE_TIMESTAMP) replace_all(&g, ", ", ",");
        if (!got || strcmp(buf_cstr(&g), want) != 0)
            buf_printf(&k->why, "\n    header %s want: \"%s\" got: %s%s%s", h->string, want, got ? "\"" : "",
                       got ? got : "(absent)", got ? "\"" : "");
        buf_free(&g);
        free(want);
    }
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(k->expect, "forbidHeaders")) {
        if (headers_get(&k->req->headers, h->valuestring))
            buf_printf(&k->why, "\n    header %s must be absent", h->valuestring);
    }
}

static void check_method_and_host(check *k)
{
    const cJSON *method = cJSON_GetObjectItem(k->expect, "method");
    if (cJSON_IsString(method) && strcmp(method->valuestring, k->req->method) != 0)
        buf_printf(&k->why, "\n    method want %s got %s", method->valuestring, k->req->method);
    const cJSON *host = cJSON_GetObjectItem(k->expect, "host");
    const cJSON *endpoint = cJSON_GetObjectItem(k->suite, "clientEndpoint");
    if (!cJSON_IsString(host) || !cJSON_IsString(endpoint)) return;
    const char *e = strstr(endpoint->valuestring, "://");
    e = e ? e + 3 : endpoint->valuestring;
    buf got = {0};
    buf_printf(&got, "%s%.*s", k->host_prefix ? k->host_prefix : "", (int)strcspn(e, "/"), e);
    if (strcmp(got.data, host->valuestring) != 0)
        buf_printf(&k->why, "\n    host want %s got %s", host->valuestring, got.data);
    buf_free(&got);
}

/* AWSTOPO_CONFORMANCE_DUMP=1 prints every request we build. */
static void dump_request(const char *proto, const cJSON *c, const http_request *req, const char *host_prefix)
{
    printf("-- %s %s\n%s %s%s%s  host prefix: %s\n", proto, cJSON_GetObjectItem(c, "id")->valuestring,
           req->method, req->path, req->query[0] ? "?" : "", req->query, host_prefix ? host_prefix : "-");
    for (size_t i = 0; i < req->headers.len; i++)
        printf("%s: %s\n", req->headers.items[i].name, req->headers.items[i].value);
    printf("%s\n", buf_cstr((buf *)&req->body));
}

/* ---- running the suite ---- */

typedef struct tally {
    int passed, failed, skipped, total;
} tally;

/* Serializes one case; returns 1 when it matches, with why set otherwise. */
static int run_case(lua_State *L, const char *proto, const cJSON *suite, const cJSON *c, buf *why)
{
    char err[512];
    const cJSON *given = cJSON_GetObjectItem(c, "given");
    aws_model *m = case_model(suite, given, err, sizeof err);
    if (!m) {
        buf_printf(why, "model: %s", err);
        return 0;
    }
    const operation *op = model_operation(m, cJSON_GetObjectItem(given, "name")->valuestring);
    int top = lua_gettop(L), ok = 0;
    http_request req;
    request_init(&req);
    char *host_prefix = NULL;
    if (push_params(L, cJSON_GetObjectItem(c, "params"), op) == 0) {
        if (protocol_serialize(L, top + 1, m, op, &req, &host_prefix, err, sizeof err) < 0) {
            buf_printf(why, "serialize: %s", err);
        } else {
            check k = { proto, suite, cJSON_GetObjectItem(c, "serialized"), op, &req, host_prefix, {0} };
            check_method_and_host(&k);
            check_uri(&k);
            check_headers(&k);
            check_body(&k);
            ok = k.why.len == 0;
            if (getenv("AWSTOPO_CONFORMANCE_DUMP")) dump_request(proto, c, &req, host_prefix);
            if (!ok) buf_append(why, k.why.data, k.why.len);
            buf_free(&k.why);
        }
        if (lua_gettop(L) != top + 1) {
            buf_printf(why, "\n    Lua stack changed by %d", lua_gettop(L) - top - 1);
            ok = 0;
        }
    }
    lua_settop(L, top);
    free(host_prefix);
    request_free(&req);
    model_free(m);
    return ok;
}

static void run_protocol(lua_State *L, const char *proto, const skips *s, int all)
{
    char path[256];
    snprintf(path, sizeof path, SUITE_DIR "/input/%s.json", proto);
    cJSON *suites = read_json(path);
    CHECK(suites != NULL, "%s: suite file missing", path);
    tally t = {0};
    const cJSON *suite, *c;
    cJSON_ArrayForEach(suite, suites) {
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(suite, "cases")) {
            const char *id = cJSON_GetObjectItem(c, "id")->valuestring;
            const char *reason = skip_reason(s, id);
            t.total++;
            buf why = {0};
            if (run_case(L, proto, suite, c, &why)) {
                t.passed++;
                CHECK(!reason, "%s %s passes but skip-input.txt lists it: remove the line", proto, id);
            } else if (reason) {
                t.skipped++;
                if (all) printf("(skipped, fails: %s %s: %s)\n", proto, id, buf_cstr(&why));
            } else {
                t.failed++;
                CHECK(0, "%s %s: %s", proto, id, buf_cstr(&why));
            }
            buf_free(&why);
        }
    }
    printf("%s: %d/%d passed, %d skipped%s", proto, t.passed, t.total, t.skipped, t.failed ? "" : "\n");
    if (t.failed) printf(", %d failed\n", t.failed);
    cJSON_Delete(suites);
}

/* ---- checks of our own: messages, validation, formatting ---- */

static const char unit_model[] =
    "{\"metadata\":{\"protocol\":\"ec2\",\"apiVersion\":\"2016-11-15\"},"
    "\"operations\":{"
    " \"DescribeInstances\":{\"name\":\"DescribeInstances\",\"input\":{\"shape\":\"DIReq\"}},"
    " \"RunInstances\":{\"name\":\"RunInstances\",\"input\":{\"shape\":\"RIReq\"}},"
    " \"Labelled\":{\"name\":\"Labelled\",\"input\":{\"shape\":\"RIReq\"},\"endpoint\":{\"hostPrefix\":\"{Zone}.\"}}},"
    "\"shapes\":{"
    " \"DIReq\":{\"type\":\"structure\",\"members\":{"
    "   \"MaxResults\":{\"shape\":\"Int\"},\"Filters\":{\"shape\":\"Filters\",\"locationName\":\"Filter\"},"
    "   \"Since\":{\"shape\":\"Time\"},\"Ratio\":{\"shape\":\"Dbl\"},\"Tags\":{\"shape\":\"Tags\"},"
    "   \"Nested\":{\"shape\":\"Nest\"}}},"
    " \"RIReq\":{\"type\":\"structure\",\"required\":[\"ImageId\"],\"members\":{"
    "   \"ImageId\":{\"shape\":\"Str\"},\"ClientToken\":{\"shape\":\"Str\",\"idempotencyToken\":true},"
    "   \"Zone\":{\"shape\":\"Str\",\"hostLabel\":true}}},"
    " \"Filters\":{\"type\":\"list\",\"member\":{\"shape\":\"Filter\",\"locationName\":\"Filter\"}},"
    " \"Filter\":{\"type\":\"structure\",\"required\":[\"Name\"],\"members\":{"
    "   \"Name\":{\"shape\":\"Str\"},\"Values\":{\"shape\":\"Strs\",\"locationName\":\"Value\"}}},"
    " \"Strs\":{\"type\":\"list\",\"member\":{\"shape\":\"Str\"}},"
    " \"Tags\":{\"type\":\"map\",\"key\":{\"shape\":\"Str\"},\"value\":{\"shape\":\"Str\"}},"
    " \"Nest\":{\"type\":\"structure\",\"members\":{\"Nested\":{\"shape\":\"Nest\"}}},"
    " \"Str\":{\"type\":\"string\"},\"Int\":{\"type\":\"integer\"},\"Dbl\":{\"type\":\"double\"},"
    " \"Time\":{\"type\":\"timestamp\"}}}";

/* Serializes the params built by the Lua chunk `params` (a return
 * statement); returns protocol_serialize's result with the body in *body
 * (caller frees) and the message in err. */
static int try_serialize(lua_State *L, const aws_model *m, const char *opname, const char *params,
                         char **body, char **host_prefix, char *err, size_t errlen)
{
    int top = lua_gettop(L);
    if (luaL_dostring(L, params) != LUA_OK) {
        printf("lua: %s\n", lua_tostring(L, -1));
        lua_settop(L, top);
        return -2;
    }
    http_request req;
    request_init(&req);
    char *prefix = NULL;
    err[0] = '\0';
    int rc = protocol_serialize(L, top + 1, m, model_operation(m, opname), &req, &prefix, err, errlen);
    CHECK(lua_gettop(L) == top + 1, "stack balanced after %s (%d)", params, lua_gettop(L) - top);
    if (body) *body = xstrdup(buf_cstr(&req.body));
    if (host_prefix) *host_prefix = prefix;
    else free(prefix);
    request_free(&req);
    lua_settop(L, top);
    return rc;
}

static void expect_error(lua_State *L, const aws_model *m, const char *op, const char *params, const char *msg)
{
    char err[512];
    int rc = try_serialize(L, m, op, params, NULL, NULL, err, sizeof err);
    CHECK(rc == -1 && strncmp(err, msg, strlen(msg)) == 0, "%s:\n    want error \"%s\"\n    got  \"%s\"",
          params, msg, rc == -1 ? err : "(no error)");
}

static void expect_body(lua_State *L, const aws_model *m, const char *op, const char *params, const char *want)
{
    char err[512], *body = NULL;
    int rc = try_serialize(L, m, op, params, &body, NULL, err, sizeof err);
    CHECK(rc == 0 && strcmp(body, want) == 0, "%s:\n    want %s\n    got  %s", params, want, rc == 0 ? body : err);
    free(body);
}

static void test_messages(lua_State *L, const aws_model *m)
{
    expect_error(L, m, "DescribeInstances", "return { MaxResults = '5' }",
                 "DescribeInstances: parameter MaxResults: expected an integer, got string");
    expect_error(L, m, "DescribeInstances", "return { MaxResults = 1.5 }",
                 "DescribeInstances: parameter MaxResults: expected an integer, got 1.5");
    expect_error(L, m, "DescribeInstances", "return { Filters = { { Name = 'a', Values = { 'x', 7 } } } }",
                 "DescribeInstances: parameter Filters[1].Values[2]: expected a string, got number");
    expect_error(L, m, "DescribeInstances", "return { Filters = { { Values = { 'x' } } } }",
                 "DescribeInstances: missing required parameter Filters[1].Name");
    expect_error(L, m, "DescribeInstances", "return { Filters = { Name = 'a' } }",
                 "DescribeInstances: parameter Filters: expected a list (a sequence table)");
    expect_error(L, m, "DescribeInstances", "return { MaxResult = 5 }",
                 "DescribeInstances: unknown parameter MaxResult (valid: MaxResults, Filters, Since");
    expect_error(L, m, "DescribeInstances", "return { Since = 'yesterday' }",
                 "DescribeInstances: parameter Since: expected a timestamp, got \"yesterday\"");
    expect_error(L, m, "DescribeInstances", "return { Since = 0/0 }",
                 "DescribeInstances: parameter Since: timestamp");
    expect_error(L, m, "DescribeInstances", "return { Since = 1e300 }",
                 "DescribeInstances: parameter Since: timestamp 1e+300 is out of range");
    expect_error(L, m, "DescribeInstances", "return { Tags = { 'a' } }",
                 "DescribeInstances: parameter Tags: expected a map with string keys, got a number key");
    expect_error(L, m, "DescribeInstances", "return 42", "DescribeInstances: parameters must be a table");
    expect_error(L, m, "RunInstances", "return {}", "RunInstances: missing required parameter ImageId");
    expect_error(L, m, "DescribeInstances", "local t = {} t.Nested = t return { Nested = t }",
                 "DescribeInstances: parameter Nested.Nested.Nested");
    expect_error(L, m, "Labelled", "return { ImageId = 'ami-1', Zone = 'evil.com/x' }",
                 "Labelled: parameter Zone: \"evil.com/x\" cannot be part of a host name");
}

static void test_values(lua_State *L, const aws_model *m)
{
    const char *head = "Action=DescribeInstances&Version=2016-11-15";
    char want[512];
    snprintf(want, sizeof want, "%s&Ratio=10.8", head);
    expect_body(L, m, "DescribeInstances", "return { Ratio = 10.8 }", want);
    snprintf(want, sizeof want, "%s&Ratio=0.1", head);
    expect_body(L, m, "DescribeInstances", "return { Ratio = 0.1 }", want);
    snprintf(want, sizeof want, "%s&Ratio=3", head);
    expect_body(L, m, "DescribeInstances", "return { Ratio = 3 }", want);
    snprintf(want, sizeof want, "%s&MaxResults=5", head);
    expect_body(L, m, "DescribeInstances", "return { MaxResults = 5.0 }", want);
    snprintf(want, sizeof want, "%s&Since=2015-01-25T08%%3A00%%3A00Z", head);
    expect_body(L, m, "DescribeInstances", "return { Since = '2015-01-25T08:00:00+00:00' }", want);
    snprintf(want, sizeof want, "%s&Since=2015-01-25T08%%3A00%%3A00.500Z", head);
    expect_body(L, m, "DescribeInstances", "return { Since = 1422172800.5 }", want);
    /* plain tables: map entries sorted by key, so requests are reproducible */
    snprintf(want, sizeof want, "%s&Tags.entry.1.key=a&Tags.entry.1.value=1&Tags.entry.2.key=b&Tags.entry.2.value=2",
             head);
    expect_body(L, m, "DescribeInstances", "return { Tags = { b = '2', a = '1' } }", want);
    snprintf(want, sizeof want, "%s&Filter.1.Name=tag%%3AName&Filter.1.Value.1=a%%20b", head);
    expect_body(L, m, "DescribeInstances", "return { Filters = { { Name = 'tag:Name', Values = { 'a b' } } } }",
                want);
    char buf_[32];
    ser_format_double(1e21, buf_);
    CHECK_STR(buf_, "1e+21");
    ser_format_double(123456789.123, buf_);
    CHECK_STR(buf_, "123456789.123");
    ser_format_double(-INFINITY, buf_);
    CHECK_STR(buf_, "-Infinity");
}

static void test_tokens_and_hosts(lua_State *L, const aws_model *m)
{
    char err[512], *body = NULL, *prefix = NULL;
    int rc = try_serialize(L, m, "RunInstances", "params = { ImageId = 'ami-1' } return params", &body, NULL, err,
                           sizeof err);
    const char *tok = body ? strstr(body, "ClientToken=") : NULL;
    CHECK(rc == 0 && tok && strlen(tok) == 12 + 36 && tok[12 + 14] == '4', "idempotency token filled: %s",
          body ? body : err);
    int untouched = luaL_dostring(L, "return params.ClientToken == nil") == LUA_OK && lua_toboolean(L, -1);
    CHECK(untouched, "the caller's params are left alone");
    lua_pop(L, 1);
    free(body);
    rc = try_serialize(L, m, "Labelled", "return { ImageId = 'ami-1', Zone = 'us-east-1a', ClientToken = 't' }",
                       &body, &prefix, err, sizeof err);
    CHECK(rc == 0 && prefix && strcmp(prefix, "us-east-1a.") == 0, "host prefix: %s", prefix ? prefix : err);
    CHECK(body && strstr(body, "&ClientToken=t"), "a given token is kept: %s", body ? body : "");
    free(body);
    free(prefix);
}

static const char rest_model[] =
    "{\"metadata\":{\"protocol\":\"rest-json\",\"apiVersion\":\"2015-03-31\"},"
    "\"operations\":{\"Get\":{\"name\":\"Get\",\"http\":{\"method\":\"GET\",\"requestUri\":\"/f/{Name}\"},"
    "  \"input\":{\"shape\":\"Req\"}}},"
    "\"shapes\":{\"Req\":{\"type\":\"structure\",\"required\":[\"Name\"],\"members\":{"
    "  \"Name\":{\"shape\":\"Str\",\"location\":\"uri\",\"locationName\":\"Name\"},"
    "  \"Trace\":{\"shape\":\"Str\",\"location\":\"header\",\"locationName\":\"X-Trace\"}}},"
    " \"Str\":{\"type\":\"string\"}}}";

static void test_rest(lua_State *L)
{
    char err[512];
    aws_model *m = model_parse("rest", rest_model, strlen(rest_model), NULL, 0, err, sizeof err);
    CHECK(m != NULL, "rest model: %s", err);
    if (!m) return;
    expect_error(L, m, "Get", "return { Name = 'a', Trace = 'x\\r\\nEvil: 1' }",
                 "Get: parameter Trace: a header value cannot contain line breaks");
    expect_error(L, m, "Get", "return { Name = '' }", "Get: parameter Name: must not be empty");
    model_free(m);
}

/* JSON numbers keep their exact value; query flattened lists take their
 * element's name (SQS's AttributeName.1). */
static const char json_model[] =
    "{\"metadata\":{\"protocol\":\"json\",\"jsonVersion\":\"1.1\",\"targetPrefix\":\"T\"},"
    "\"operations\":{\"Put\":{\"name\":\"Put\",\"input\":{\"shape\":\"Req\"}}},"
    "\"shapes\":{\"Req\":{\"type\":\"structure\",\"members\":{\"Ratio\":{\"shape\":\"Dbl\"},"
    "  \"When\":{\"shape\":\"Time\"},\"Data\":{\"shape\":\"Blob\"}}},"
    " \"Dbl\":{\"type\":\"double\"},\"Time\":{\"type\":\"timestamp\"},\"Blob\":{\"type\":\"blob\"}}}";

static const char query_model[] =
    "{\"metadata\":{\"protocol\":\"query\",\"apiVersion\":\"2012-11-05\"},"
    "\"operations\":{\"Get\":{\"name\":\"Get\",\"input\":{\"shape\":\"Req\"}}},"
    "\"shapes\":{\"Req\":{\"type\":\"structure\",\"members\":{\"AttributeNames\":{\"shape\":\"Names\"}}},"
    " \"Names\":{\"type\":\"list\",\"member\":{\"shape\":\"Str\",\"locationName\":\"AttributeName\"},"
    "  \"flattened\":true},\"Str\":{\"type\":\"string\"}}}";

static void test_json_and_query(lua_State *L)
{
    char err[512];
    aws_model *m = model_parse("json", json_model, strlen(json_model), NULL, 0, err, sizeof err);
    CHECK(m != NULL, "json model: %s", err);
    if (m) {
        expect_body(L, m, "Put", "return { Ratio = 0.1 }", "{\"Ratio\":0.1}");
        expect_body(L, m, "Put", "return { Ratio = 1/3 }", "{\"Ratio\":0.3333333333333333}");
        expect_body(L, m, "Put", "return { Ratio = -0.0 }", "{\"Ratio\":-0}");
        expect_body(L, m, "Put", "return { Ratio = 0/0 }", "{\"Ratio\":\"NaN\"}");
        expect_body(L, m, "Put", "return { Ratio = math.huge }", "{\"Ratio\":\"Infinity\"}");
        expect_body(L, m, "Put", "return { When = 1422172800.25 }", "{\"When\":1422172800.25}");
        expect_body(L, m, "Put", "return { Data = 'a\\0b' }", "{\"Data\":\"YQBi\"}");
        expect_body(L, m, "Put", "return nil", "{}");
        model_free(m);
    }
    m = model_parse("query", query_model, strlen(query_model), NULL, 0, err, sizeof err);
    CHECK(m != NULL, "query model: %s", err);
    if (m) {
        expect_body(L, m, "Get", "return { AttributeNames = { 'All', 'Policy' } }",
                    "Action=Get&Version=2012-11-05&AttributeName.1=All&AttributeName.2=Policy");
        model_free(m);
    }
}

static void test_own(lua_State *L)
{
    char err[512];
    aws_model *m = model_parse("unit", unit_model, strlen(unit_model), NULL, 0, err, sizeof err);
    CHECK(m != NULL, "unit model: %s", err);
    if (!m) return;
    test_messages(L, m);
    test_values(L, m);
    test_tokens_and_hosts(L, m);
    model_free(m);
    test_rest(L);
    test_json_and_query(L);
}

int main(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luajson_open(L);
    if (luaL_dostring(L, ordered_lua) != LUA_OK) return 1;
    lua_setfield(L, LUA_REGISTRYINDEX, "test.ordered");

    test_own(L);

    skips s = {0};
    load_skips(&s);
    CHECK(s.bad_entries == 0, "every skip has a reason");
    const char *all = getenv("AWSTOPO_CONFORMANCE_ALL");
    for (size_t i = 0; i < sizeof protocols / sizeof *protocols; i++)
        run_protocol(L, protocols[i], &s, all && *all == '1');
    cJSON_Delete(s.own);
    lua_close(L);
    return test_summary();
}
