/* model.c -- compiling botocore service models into structs (see model.h).
 *
 * Compilation runs in two passes over the "shapes" object: the first creates
 * an empty shape per name in a hash table, the second fills each one in,
 * resolving member references to the shapes created in the first pass. That
 * way forward references and recursive shapes need no special care.
 *
 * Everything a model owns comes from one arena: strings and arrays are never
 * freed one by one, the whole model goes at once.
 */
#include "model.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* ---- arena: a list of blocks, bump allocation ---- */

typedef struct model_arena {
    struct model_arena *next;
    size_t used, size;
    _Alignas(16) char data[];
} model_arena;

static void *arena_alloc(model_arena **a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!*a || (*a)->used + n > (*a)->size) {
        size_t size = n > 65536 ? n : 65536;
        model_arena *blk = xmalloc(sizeof *blk + size);
        blk->next = *a;
        blk->used = 0;
        blk->size = size;
        *a = blk;
    }
    void *p = (*a)->data + (*a)->used;
    (*a)->used += n;
    memset(p, 0, n);
    return p;
}

static const char *arena_strdup(model_arena **a, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n);
    memcpy(p, s, n);
    return p;
}

static void arena_free(model_arena *a)
{
    while (a) {
        model_arena *next = a->next;
        free(a);
        a = next;
    }
}

/* ---- shape table: open addressing, name -> shape ---- */

typedef struct shape_table {
    size_t cap;        /* power of two */
    shape **slots;
} shape_table;

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;   /* FNV-1a */
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static shape_table *table_new(size_t n)
{
    shape_table *t = xcalloc(1, sizeof *t);
    t->cap = 16;
    while (t->cap < n * 2) t->cap *= 2;
    t->slots = xcalloc(t->cap, sizeof *t->slots);
    return t;
}

static void table_put(shape_table *t, shape *s)
{
    size_t i = hash_str(s->name) & (t->cap - 1);
    while (t->slots[i]) i = (i + 1) & (t->cap - 1);
    t->slots[i] = s;
}

static shape *table_get(const shape_table *t, const char *name)
{
    size_t i = hash_str(name) & (t->cap - 1);
    while (t->slots[i]) {
        if (strcmp(t->slots[i]->name, name) == 0) return t->slots[i];
        i = (i + 1) & (t->cap - 1);
    }
    return NULL;
}

static void table_free(shape_table *t)
{
    if (!t) return;
    free(t->slots);
    free(t);
}

/* ---- compiling ---- */

typedef struct compiler {
    aws_model *m;
    char *err;
    size_t errlen;
} compiler;

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jbool(const cJSON *obj, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static const char *adup(compiler *c, const char *s)
{
    return arena_strdup(&c->m->arena, s);
}

static const struct { const char *name; shape_type type; } shape_types[] = {
    { "structure", SHAPE_STRUCTURE }, { "list", SHAPE_LIST },       { "map", SHAPE_MAP },
    { "string", SHAPE_STRING },       { "integer", SHAPE_INTEGER }, { "long", SHAPE_LONG },
    { "float", SHAPE_FLOAT },         { "double", SHAPE_DOUBLE },   { "boolean", SHAPE_BOOLEAN },
    { "timestamp", SHAPE_TIMESTAMP }, { "blob", SHAPE_BLOB },
    { "character", SHAPE_STRING },    { "byte", SHAPE_INTEGER },    { "short", SHAPE_INTEGER },
    { "bigdecimal", SHAPE_DOUBLE },   { "biginteger", SHAPE_LONG },
};

static int parse_shape_type(const char *s, shape_type *out)
{
    for (size_t i = 0; s && i < sizeof shape_types / sizeof *shape_types; i++) {
        if (strcmp(s, shape_types[i].name) == 0) {
            *out = shape_types[i].type;
            return 0;
        }
    }
    return -1;
}

static member_location parse_location(const char *s)
{
    if (!s) return LOC_BODY;
    if (strcmp(s, "uri") == 0) return LOC_URI;
    if (strcmp(s, "querystring") == 0) return LOC_QUERYSTRING;
    if (strcmp(s, "header") == 0) return LOC_HEADER;
    if (strcmp(s, "headers") == 0) return LOC_HEADERS;
    if (strcmp(s, "statusCode") == 0) return LOC_STATUS_CODE;
    return LOC_BODY;
}

static void read_xml_namespace(compiler *c, const cJSON *j, const char **uri, const char **prefix)
{
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(j, "xmlNamespace");
    if (cJSON_IsString(ns)) {
        *uri = adup(c, ns->valuestring);
    } else if (cJSON_IsObject(ns)) {
        *uri = adup(c, jstr(ns, "uri"));
        *prefix = adup(c, jstr(ns, "prefix"));
    }
}

/* A member reference: {"shape": "Name", "locationName": ..., ...}. */
static int compile_member(compiler *c, const cJSON *j, const char *name, member *out)
{
    const char *target = jstr(j, "shape");
    out->shape = target ? table_get(c->m->shapes, target) : NULL;
    if (!out->shape) {
        snprintf(c->err, c->errlen, "member %s refers to unknown shape %s", name ? name : "(element)",
                 target ? target : "(none)");
        return -1;
    }
    out->name = name ? adup(c, name) : NULL;
    out->location = parse_location(jstr(j, "location"));
    out->location_name = adup(c, jstr(j, "locationName"));
    out->query_name = adup(c, jstr(j, "queryName"));
    out->flattened = jbool(j, "flattened");
    out->xml_attribute = jbool(j, "xmlAttribute");
    out->idempotency_token = jbool(j, "idempotencyToken");
    out->host_label = jbool(j, "hostLabel");
    out->json_value = jbool(j, "jsonvalue");
    out->event_payload = jbool(j, "eventpayload");
    out->timestamp_format = adup(c, jstr(j, "timestampFormat"));
    read_xml_namespace(c, j, &out->xml_namespace_uri, &out->xml_namespace_prefix);
    return 0;
}

static int is_required(const cJSON *required, const char *name)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, required) {
        if (cJSON_IsString(r) && strcmp(r->valuestring, name) == 0) return 1;
    }
    return 0;
}

static int compile_structure(compiler *c, const cJSON *j, shape *s)
{
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(j, "members");
    const cJSON *required = cJSON_GetObjectItemCaseSensitive(j, "required");
    s->nmembers = (size_t)cJSON_GetArraySize(members);
    s->members = arena_alloc(&c->m->arena, (s->nmembers ? s->nmembers : 1) * sizeof *s->members);
    size_t i = 0;
    const cJSON *mj;
    cJSON_ArrayForEach(mj, members) {
        member *mb = &s->members[i++];
        if (compile_member(c, mj, mj->string, mb) < 0) return -1;
        mb->required = is_required(required, mj->string);
    }
    s->payload = adup(c, jstr(j, "payload"));
    s->exception = jbool(j, "exception");
    s->is_union = jbool(j, "union");
    s->document = jbool(j, "document");
    s->event_stream = jbool(j, "eventstream");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (error) {
        s->error_code = adup(c, jstr(error, "code"));
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(error, "httpStatusCode");
        if (cJSON_IsNumber(st)) s->error_status = st->valueint;
    }
    return 0;
}

static void compile_enum(compiler *c, const cJSON *j, shape *s)
{
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(j, "enum");
    if (!cJSON_IsArray(en)) return;
    int n = cJSON_GetArraySize(en);
    s->enum_values = arena_alloc(&c->m->arena, ((size_t)n + 1) * sizeof *s->enum_values);
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, en) {
        if (cJSON_IsString(v)) s->enum_values[i++] = adup(c, v->valuestring);
    }
}

static int compile_shape(compiler *c, const cJSON *j, shape *s)
{
    s->location_name = adup(c, jstr(j, "locationName"));
    s->timestamp_format = adup(c, jstr(j, "timestampFormat"));
    s->flattened = jbool(j, "flattened");
    s->sensitive = jbool(j, "sensitive");
    s->streaming = jbool(j, "streaming");
    read_xml_namespace(c, j, &s->xml_namespace_uri, &s->xml_namespace_prefix);
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(j, "min");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(j, "max");
    if (cJSON_IsNumber(min)) s->min = min->valuedouble;
    if (cJSON_IsNumber(max)) s->max = max->valuedouble;
    compile_enum(c, j, s);

    switch (s->type) {
    case SHAPE_STRUCTURE:
        return compile_structure(c, j, s);
    case SHAPE_LIST:
        return compile_member(c, cJSON_GetObjectItemCaseSensitive(j, "member"), NULL, &s->element);
    case SHAPE_MAP:
        if (compile_member(c, cJSON_GetObjectItemCaseSensitive(j, "key"), NULL, &s->key) < 0) return -1;
        return compile_member(c, cJSON_GetObjectItemCaseSensitive(j, "value"), NULL, &s->value);
    default:
        return 0;
    }
}

static int compile_shapes(compiler *c, const cJSON *shapes)
{
    c->m->shapes = table_new((size_t)cJSON_GetArraySize(shapes));
    const cJSON *sj;
    cJSON_ArrayForEach(sj, shapes) {                 /* pass 1: names */
        shape *s = arena_alloc(&c->m->arena, sizeof *s);
        s->name = adup(c, sj->string);
        if (parse_shape_type(jstr(sj, "type"), &s->type) < 0) {
            snprintf(c->err, c->errlen, "shape %s has unknown type %s", sj->string,
                     jstr(sj, "type") ? jstr(sj, "type") : "(none)");
            return -1;
        }
        table_put(c->m->shapes, s);
    }
    cJSON_ArrayForEach(sj, shapes) {                 /* pass 2: contents */
        if (compile_shape(c, sj, table_get(c->m->shapes, sj->string)) < 0) return -1;
    }
    return 0;
}

static shape *ref_shape(compiler *c, const cJSON *ref)
{
    const char *name = jstr(ref, "shape");
    return name ? table_get(c->m->shapes, name) : NULL;
}

static void compile_errors(compiler *c, const cJSON *errors, operation *op)
{
    int n = cJSON_GetArraySize(errors);
    op->errors = arena_alloc(&c->m->arena, ((size_t)n + 1) * sizeof *op->errors);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, errors) {
        shape *s = ref_shape(c, e);
        if (s) op->errors[i++] = s;
    }
}

static int compile_operation(compiler *c, const cJSON *j, operation *op)
{
    op->name = adup(c, j->string);
    const cJSON *http = cJSON_GetObjectItemCaseSensitive(j, "http");
    op->http_method = adup(c, jstr(http, "method") ? jstr(http, "method") : "POST");
    op->request_uri = adup(c, jstr(http, "requestUri") ? jstr(http, "requestUri") : "/");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(http, "responseCode");
    if (cJSON_IsNumber(code)) op->response_code = code->valueint;

    const cJSON *input = cJSON_GetObjectItemCaseSensitive(j, "input");
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(j, "output");
    if (input && !(op->input = ref_shape(c, input))) {
        snprintf(c->err, c->errlen, "operation %s: unknown input shape", op->name);
        return -1;
    }
    if (output && !(op->output = ref_shape(c, output))) {
        snprintf(c->err, c->errlen, "operation %s: unknown output shape", op->name);
        return -1;
    }
    op->result_wrapper = adup(c, jstr(output, "resultWrapper"));
    op->input_xml_name = adup(c, jstr(input, "locationName"));
    const char *ns_prefix = NULL;
    read_xml_namespace(c, input, &op->input_xml_ns, &ns_prefix);
    op->host_prefix = adup(c, jstr(cJSON_GetObjectItemCaseSensitive(j, "endpoint"), "hostPrefix"));
    op->auth_type = adup(c, jstr(j, "authtype"));
    op->http_checksum_required = jbool(j, "httpChecksumRequired") ||
                                 cJSON_GetObjectItemCaseSensitive(j, "httpChecksum") != NULL;
    op->request_compression = cJSON_GetObjectItemCaseSensitive(j, "requestcompression") != NULL;
    compile_errors(c, cJSON_GetObjectItemCaseSensitive(j, "errors"), op);
    return 0;
}

static int compare_operations(const void *a, const void *b)
{
    return strcmp(((const operation *)a)->name, ((const operation *)b)->name);
}

static int compile_operations(compiler *c, const cJSON *ops)
{
    c->m->noperations = (size_t)cJSON_GetArraySize(ops);
    c->m->operations = arena_alloc(&c->m->arena, (c->m->noperations + 1) * sizeof *c->m->operations);
    size_t i = 0;
    const cJSON *oj;
    cJSON_ArrayForEach(oj, ops) {
        if (compile_operation(c, oj, &c->m->operations[i++]) < 0) return -1;
    }
    qsort(c->m->operations, c->m->noperations, sizeof *c->m->operations, compare_operations);
    return 0;
}

/* ---- paginators ---- */

/* A paginator field is either a string or a list of strings; both become a
 * NULL-terminated array. */
static const char **string_list(compiler *c, const cJSON *j)
{
    if (!j) return NULL;
    int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 1;
    const char **out = arena_alloc(&c->m->arena, ((size_t)n + 1) * sizeof *out);
    if (cJSON_IsString(j)) {
        out[0] = adup(c, j->valuestring);
        return out;
    }
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, j) {
        if (cJSON_IsString(v)) out[i++] = adup(c, v->valuestring);
    }
    return out;
}

static void compile_paginators(compiler *c, const cJSON *root)
{
    const cJSON *pag = cJSON_GetObjectItemCaseSensitive(root, "pagination");
    const cJSON *pj;
    cJSON_ArrayForEach(pj, pag) {
        operation *op = (operation *)model_operation(c->m, pj->string);
        if (!op || !cJSON_GetObjectItemCaseSensitive(pj, "input_token")) continue;
        paginator *p = arena_alloc(&c->m->arena, sizeof *p);
        p->input_tokens = string_list(c, cJSON_GetObjectItemCaseSensitive(pj, "input_token"));
        p->output_tokens = string_list(c, cJSON_GetObjectItemCaseSensitive(pj, "output_token"));
        p->more_results = adup(c, jstr(pj, "more_results"));
        p->limit_key = adup(c, jstr(pj, "limit_key"));
        p->result_keys = string_list(c, cJSON_GetObjectItemCaseSensitive(pj, "result_key"));
        p->non_aggregate_keys = string_list(c, cJSON_GetObjectItemCaseSensitive(pj, "non_aggregate_keys"));
        op->paginator = p;
    }
}

/* ---- metadata ---- */

static const struct { const char *name; protocol_kind kind; } protocols[] = {
    { "query", PROTO_QUERY }, { "ec2", PROTO_EC2 }, { "json", PROTO_JSON },
    { "rest-json", PROTO_REST_JSON }, { "rest-xml", PROTO_REST_XML },
};

static int lookup_protocol(const char *name, protocol_kind *out)
{
    for (size_t i = 0; name && i < sizeof protocols / sizeof *protocols; i++) {
        if (strcmp(name, protocols[i].name) == 0) {
            *out = protocols[i].kind;
            return 0;
        }
    }
    return -1;
}

const char *protocol_name(protocol_kind p)
{
    for (size_t i = 0; i < sizeof protocols / sizeof *protocols; i++)
        if (protocols[i].kind == p) return protocols[i].name;
    return "?";
}

/* Newer models list several protocols in order of preference (e.g.
 * CloudWatch: smithy-rpc-v2-cbor, json, query); we take the first we speak. */
static int choose_protocol(compiler *c, const cJSON *meta)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(meta, "protocols");
    const cJSON *p;
    cJSON_ArrayForEach(p, list) {
        if (cJSON_IsString(p) && lookup_protocol(p->valuestring, &c->m->protocol) == 0) return 0;
    }
    if (lookup_protocol(jstr(meta, "protocol"), &c->m->protocol) == 0) return 0;
    snprintf(c->err, c->errlen, "model speaks no protocol awstopo knows (%s)",
             jstr(meta, "protocol") ? jstr(meta, "protocol") : "none");
    return -1;
}

static int compile_metadata(compiler *c, const cJSON *meta)
{
    aws_model *m = c->m;
    if (!cJSON_IsObject(meta)) {
        snprintf(c->err, c->errlen, "model has no metadata");
        return -1;
    }
    m->api_version = adup(c, jstr(meta, "apiVersion"));
    m->endpoint_prefix = adup(c, jstr(meta, "endpointPrefix"));
    m->signing_name = adup(c, jstr(meta, "signingName") ? jstr(meta, "signingName") : m->endpoint_prefix);
    m->service_id = adup(c, jstr(meta, "serviceId"));
    m->target_prefix = adup(c, jstr(meta, "targetPrefix"));
    m->json_version = adup(c, jstr(meta, "jsonVersion") ? jstr(meta, "jsonVersion") : "1.0");
    m->global_endpoint = adup(c, jstr(meta, "globalEndpoint"));
    m->signature_version = adup(c, jstr(meta, "signatureVersion"));
    m->xml_namespace = adup(c, jstr(meta, "xmlNamespace"));
    m->query_compatible = cJSON_GetObjectItemCaseSensitive(meta, "awsQueryCompatible") != NULL;
    return choose_protocol(c, meta);
}

aws_model *model_parse(const char *service, const char *service_json, size_t len,
                       const char *paginators_json, size_t plen, char *err, size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(service_json, len);
    if (!root) {
        snprintf(err, errlen, "model for %s is not valid JSON", service);
        return NULL;
    }
    aws_model *m = xcalloc(1, sizeof *m);
    compiler c = { m, err, errlen };
    m->service = adup(&c, service);
    int rc = compile_metadata(&c, cJSON_GetObjectItemCaseSensitive(root, "metadata"));
    if (rc == 0) rc = compile_shapes(&c, cJSON_GetObjectItemCaseSensitive(root, "shapes"));
    if (rc == 0) rc = compile_operations(&c, cJSON_GetObjectItemCaseSensitive(root, "operations"));
    cJSON_Delete(root);
    if (rc == 0 && paginators_json) {
        cJSON *proot = cJSON_ParseWithLength(paginators_json, plen);
        if (proot) compile_paginators(&c, proot);
        cJSON_Delete(proot);
    }
    if (rc < 0) {
        model_free(m);
        return NULL;
    }
    return m;
}

void model_free(aws_model *m)
{
    if (!m) return;
    if (m->parse_cache_free) m->parse_cache_free(m->parse_cache);
    table_free(m->shapes);
    arena_free(m->arena);
    free(m->path);
    free(m);
}

const operation *model_operation(const aws_model *m, const char *name)
{
    size_t lo = 0, hi = m->noperations;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(name, m->operations[mid].name);
        if (cmp == 0) return &m->operations[mid];
        if (cmp < 0) hi = mid; else lo = mid + 1;
    }
    return NULL;
}

shape *model_shape(const aws_model *m, const char *name)
{
    return m->shapes ? table_get(m->shapes, name) : NULL;
}
