/* kinesis.c -- the record format and the producer (see kinesis.h).
 *
 * PutRecords takes at most 500 records and 5 MiB a request, 1 MiB a record.
 * A response may accept some records and refuse others (FailedRecordCount,
 * an ErrorCode per record: throughput exceeded, internal failure): only the
 * refused ones are sent again, after a backoff with full jitter, so a
 * throttled stream slows the producer down instead of losing records.
 */
#include "kinesis.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_json.h"
#include "buf.h"
#include "intake.h"
#include "retry.h"
#include "sigv4.h"
#include "util.h"

static const char *const kind_names[] = { "component", "relation", "delete" };

void kinesis_partition_key(const char *id, char *out)
{
    if (strlen(id) <= KINESIS_MAX_KEY) {
        snprintf(out, KINESIS_MAX_KEY + 1, "%s", id);
        return;
    }
    char hex[65];
    sha256_hex(id, strlen(id), hex);
    snprintf(out, KINESIS_MAX_KEY + 1, "sha256:%s", hex);
}

char *kinesis_record_encode(const char *instance, topo_kind kind, const char *id, const char *item_json,
                            long long time_ms)
{
    buf b = {0};
    buf_printf(&b, "{\"awstopo\":%d,\"instance\":", KINESIS_RECORD_VERSION);
    intake_json_string(&b, instance, strlen(instance));
    buf_printf(&b, ",\"kind\":\"%s\",\"id\":", kind_names[kind]);
    intake_json_string(&b, id, strlen(id));
    if (item_json) {
        buf_puts(&b, ",\"item\":");
        buf_puts(&b, item_json);
    }
    buf_printf(&b, ",\"time\":%lld}", time_ms);
    return buf_steal(&b);
}

int kinesis_record_apply(topology *t, const char *data, size_t len, char *err, size_t errlen)
{
    cJSON *r = cJSON_ParseWithLength(data, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "awstopo");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(r, "kind");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(r, "item");
    int rc = -1;
    if (!r) {
        set_err(err, errlen, "not JSON");
    } else if (!cJSON_IsNumber(v) || !cJSON_IsString(kind) || !cJSON_IsString(id)) {
        set_err(err, errlen, "not an awstopo record (no awstopo, kind or id)");
    } else if (v->valueint != KINESIS_RECORD_VERSION) {
        set_err(err, errlen, "record format %d (this awstopo reads %d)", v->valueint, KINESIS_RECORD_VERSION);
    } else {
        int k = strcmp(kind->valuestring, "component") == 0 ? TOPO_COMPONENT
              : strcmp(kind->valuestring, "relation") == 0 ? TOPO_RELATION
              : strcmp(kind->valuestring, "delete") == 0 ? TOPO_DELETE : -1;
        if (k < 0 || (k != TOPO_DELETE && !cJSON_IsObject(item))) {
            set_err(err, errlen, "record of kind '%s'%s", kind->valuestring, k < 0 ? "" : " without an item");
        } else {
            rc = 0;
            if (!topology_has(t, id->valuestring)) {
                char *json = k == TOPO_DELETE ? NULL : cJSON_PrintUnformatted(item);
                topology_add(t, (topo_kind)k, id->valuestring, json, json ? strlen(json) : 0);
                cJSON_free(json);
            }
        }
    }
    cJSON_Delete(r);
    return rc;
}

/* ---- producer ---- */

typedef struct record {
    char *data;
    char key[KINESIS_MAX_KEY + 1];
    const char *id;
} record;

static long long now_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {}
}

static size_t record_bytes(const record *r) { return strlen(r->data) + strlen(r->key); }

/* Sends records[idx[0..n)] in one PutRecords; appends the indices to send
 * again to *again. Returns 0, or -1 when the call itself failed (all again). */
static int put_batch(const kinesis_stream *k, record *records, const size_t *idx, size_t n, size_t *again,
                     size_t *nagain, publish_stats *st, aws_call_error *e)
{
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "StreamName", k->name);
    cJSON *list = cJSON_AddArrayToObject(params, "Records");
    for (size_t i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "Data", records[idx[i]].data);   /* the client base64-encodes the blob */
        cJSON_AddStringToObject(r, "PartitionKey", records[idx[i]].key);
        cJSON_AddItemToArray(list, r);
    }
    char *text = cJSON_PrintUnformatted(params);
    cJSON_Delete(params);
    st->requests++;
    char *resp = aws_call_json(k->client, k->models, "kinesis", "PutRecords", text, k->region, e);
    cJSON_free(text);
    if (!resp) {
        for (size_t i = 0; i < n; i++) again[(*nagain)++] = idx[i];
        if (e->throttling) st->throttled += n;
        return -1;
    }
    cJSON *doc = cJSON_Parse(resp);
    free(resp);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(doc, "Records");
    size_t i = 0;
    const cJSON *res;
    cJSON_ArrayForEach(res, results) {
        if (i >= n) break;
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "ErrorCode"));
        if (code && *code) {
            again[(*nagain)++] = idx[i];
            if (strcmp(code, "ProvisionedThroughputExceededException") == 0) st->throttled++;
            snprintf(e->code, sizeof e->code, "%s", code);
            const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "ErrorMessage"));
            snprintf(e->message, sizeof e->message, "%s", msg ? msg : "");
        } else {
            st->records++;
        }
        i++;
    }
    for (; i < n; i++) again[(*nagain)++] = idx[i];   /* a short answer: not confirmed, send again */
    cJSON_Delete(doc);
    return 0;
}

static void add_records(record **records, size_t *n, const topo_list *l, topo_kind kind, const char *instance,
                        long long now)
{
    buf scratch = {0};
    for (size_t i = 0; i < l->len; i++) {
        record *r = &(*records)[(*n)++];
        r->id = l->items[i].external_id;
        r->data = kinesis_record_encode(instance, kind, r->id, topo_item_json(&l->items[i], &scratch), now);
        kinesis_partition_key(r->id, r->key);
    }
    buf_free(&scratch);
}

int kinesis_publish(const kinesis_stream *k, const topology *t, const char *instance, int max_attempts,
                    publish_stats *st, char *err, size_t errlen)
{
    size_t total = topology_count(t);
    if (!total) return 0;
    if (max_attempts <= 0) max_attempts = 10;
    record *records = xcalloc(total, sizeof *records);
    size_t n = 0;
    long long now = now_epoch_ms();
    add_records(&records, &n, &t->components, TOPO_COMPONENT, instance, now);
    add_records(&records, &n, &t->relations, TOPO_RELATION, instance, now);
    add_records(&records, &n, &t->deletes, TOPO_DELETE, instance, now);

    size_t *pending = xcalloc(n, sizeof *pending), *again = xcalloc(n, sizeof *again), npending = 0, nagain;
    size_t too_large = 0;
    const char *large_id = NULL;
    for (size_t i = 0; i < n; i++) {
        if (record_bytes(&records[i]) > KINESIS_MAX_RECORD_BYTES) {
            too_large++;
            large_id = records[i].id;
        } else {
            pending[npending++] = i;
        }
    }
    retry_policy policy;
    retry_policy_init(&policy, 0);
    const char *base = getenv("AWSTOPO_RETRY_BASE_MS");   /* tests: short waits */
    if (base && atol(base) > 0) policy.base_delay_ms = atol(base);
    aws_call_error e = {0};
    int attempt = 0;
    while (npending && attempt < max_attempts) {
        if (attempt++) {
            st->retried += npending;
            sleep_ms(retry_backoff_ms(&policy, attempt - 1, NULL));
        }
        nagain = 0;
        size_t start = 0;
        while (start < npending) {     /* the next batch: within the record and byte limits */
            size_t end = start, bytes = 0;
            while (end < npending && end - start < KINESIS_MAX_RECORDS &&
                   bytes + record_bytes(&records[pending[end]]) <= KINESIS_MAX_REQUEST_BYTES)
                bytes += record_bytes(&records[pending[end++]]);
            put_batch(k, records, pending + start, end - start, again, &nagain, st, &e);
            start = end;
        }
        memcpy(pending, again, nagain * sizeof *again);
        npending = nagain;
    }
    int rc = 0;
    if (npending || too_large) {
        rc = -1;
        buf why = {0};
        if (npending)
            buf_printf(&why, "%zu of %zu records not written to stream %s after %d attempts (last error: %s%s%s)",
                       npending, n, k->name, max_attempts, e.code, *e.message ? ": " : "", e.message);
        if (too_large)
            buf_printf(&why, "%s%zu record(s) larger than Kinesis takes (1 MiB), e.g. %s", npending ? "; " : "",
                       too_large, large_id);
        set_err(err, errlen, "%s", why.data);
        buf_free(&why);
    }
    for (size_t i = 0; i < n; i++) free(records[i].data);
    free(records);
    free(pending);
    free(again);
    return rc;
}
