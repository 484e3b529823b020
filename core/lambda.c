/* lambda.c -- the handlers of `awstopo lambda` (see lambda.h, docs/lambda.md).
 *
 * cron and cwevents are the CLI's scan and `events process`, run in the
 * child with the configuration of the environment. publisher takes a
 * Kinesis event source batch: the records become one update (the newest
 * item per id), StackState gets what its spool still holds and then the
 * update; if it does not take them, the response names the batch's first
 * record in batchItemFailures, so that Lambda hands the batch again (and
 * nothing is lost), while a record that is not an awstopo record is
 * reported and skipped (it would never get better).
 */
#include "lambda.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_json.h"
#include "buf.h"
#include "cli.h"
#include "config.h"
#include "intake.h"
#include "kinesis.h"
#include "scan.h"
#include "util.h"

static const char *const names[] = { "cron", "cwevents", "publisher" };

int lambda_handler_parse(const char *name, lambda_handler *h)
{
    for (int i = 0; name && i < 3; i++) {
        if (strcmp(name, names[i]) == 0) {
            *h = (lambda_handler)i;
            return 0;
        }
    }
    return -1;
}

const char *lambda_handler_name(lambda_handler h) { return names[h]; }

/* The API key's store: an SSM SecureString (the single-account install) or a
 * Secrets Manager secret (the StackSet install, whose stacks cannot create a
 * SecureString): the call, its parameter's name, and where the answer holds it. */
typedef struct key_source {
    const char *env, *service, *op, *id_field, *extra, *outer, *inner;
} key_source;

static const key_source key_sources[] = {
    { "AWSTOPO_API_KEY_PARAMETER", "ssm", "GetParameter", "Name", ",\"WithDecryption\":true", "Parameter", "Value" },
    { "AWSTOPO_API_KEY_SECRET", "secretsmanager", "GetSecretValue", "SecretId", "", NULL, "SecretString" },
};

static int fetch_key(const key_source *k, const char *id, char *err, size_t errlen)
{
    common_options co = {0};
    char *mpath = model_search_path(&co);
    model_registry *models = model_registry_new(mpath);
    aws_client *c = make_client(&co, models, err, errlen);
    int rc = -1;
    if (c) {
        buf params = {0};
        buf_printf(&params, "{\"%s\":", k->id_field);
        intake_json_string(&params, id, strlen(id));
        buf_printf(&params, "%s}", k->extra);
        aws_call_error e;
        char *resp = aws_call_json(c, models, k->service, k->op, params.data, NULL, &e);
        buf_free(&params);
        cJSON *doc = resp ? cJSON_Parse(resp) : NULL;
        const cJSON *holder = k->outer ? cJSON_GetObjectItemCaseSensitive(doc, k->outer) : doc;
        const char *value = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(holder, k->inner));
        if (value && *value) {
            setenv("AWSTOPO_API_KEY", value, 1);
            rc = 0;
        } else {
            set_err(err, errlen, "the API key %s %s (%s %s): %s%s%s", k->service, id, k->service, k->op,
                    resp ? "no value" : e.code, resp ? "" : ": ", resp ? "" : e.message);
        }
        if (resp) {   /* the response holds the secret */
            memset(resp, 0, strlen(resp));
            free(resp);
        }
        if (value) memset((char *)value, 0, strlen(value));
        cJSON_Delete(doc);
        client_free(c);
    }
    model_registry_free(models);
    free(mpath);
    return rc;
}

int lambda_init(char *err, size_t errlen)
{
    if (getenv("AWSTOPO_API_KEY") && *getenv("AWSTOPO_API_KEY")) return 0;
    for (size_t i = 0; i < sizeof key_sources / sizeof key_sources[0]; i++) {
        const char *id = getenv(key_sources[i].env);
        if (id && *id) return fetch_key(&key_sources[i], id, err, errlen);
    }
    return 0;
}

static int write_result(const char *path, const char *json)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fputs(json, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int run_command(int (*cmd)(int, char **), char **argv, int argc, lambda_handler h, const char *result_path)
{
    int rc = cmd(argc, argv);
    fflush(NULL);
    char result[128];
    snprintf(result, sizeof result, "{\"handler\":\"%s\",\"exit\":%d}", names[h], rc);
    if (rc < 2 && write_result(result_path, result) < 0) return 2;
    return rc;
}

/* ---- publisher ---- */

/* The update of a Kinesis batch (newest first) into t; the first record's
 * sequence number into *first. Returns the number of records. */
static int batch_topology(const cJSON *records, topology *t, const char **first)
{
    int n = cJSON_GetArraySize(records);
    for (int i = n - 1; i >= 0; i--) {
        const cJSON *r = cJSON_GetArrayItem(records, i);
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "kinesis");
        const char *seq = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "sequenceNumber"));
        const char *data = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "data"));
        if (i == 0) *first = seq;
        size_t len = 0;
        char *bytes = data ? kinesis_base64_decode(data, &len) : NULL;
        char why[256];
        if (!bytes || kinesis_record_apply(t, bytes, len, why, sizeof why) < 0)
            fprintf(stderr, "awstopo: publisher: record %s: %s (skipped)\n", seq ? seq : "?",
                    bytes ? why : "data is not base64");
        free(bytes);
    }
    return n;
}

static int publisher(const char *event_path, const char *result_path)
{
    buf event = {0};
    if (read_file(event_path, &event, 0) < 0) return 2;
    cJSON *doc = cJSON_ParseWithLength(event.data ? event.data : "", event.len);
    buf_free(&event);
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(doc, "Records");
    if (!cJSON_IsArray(records)) {
        cli_error("publisher: the event is not a Kinesis batch (no Records)");
        cJSON_Delete(doc);
        return 2;
    }
    awstopo_config cfg;
    char err[1024];
    if (config_load(&cfg, getenv("AWSTOPO_CONFIG"), err, sizeof err) < 0) {
        cli_error("%s", err);
        cJSON_Delete(doc);
        return 2;
    }
    config_apply_env(&cfg);
    int rc = 2;
    if (!cfg.stackstate_url) {
        cli_error("publisher: no StackState URL (AWSTOPO_STACKSTATE_URL)");
    } else {
        topology t;
        topology_init(&t);
        const char *first = NULL;
        int n = batch_topology(records, &t, &first);
        buf spool = {0};
        stackstate_sink *sink = open_stackstate_sink(&cfg, &spool, err, sizeof err);
        sink_result r = SINK_REFUSED;
        if (sink) {
            intake_options io = { .instance_type = "aws", .instance_url = cfg.instance ? cfg.instance : "aws",
                                  .collection_timestamp = (double)time(NULL) };
            topology_sort(&t);
            r = stackstate_sink_send(sink, NULL, err, sizeof err);   /* the spool first */
            if (r == SINK_DELIVERED) r = stackstate_sink_send_topology(sink, &t, &io, INTAKE_INCREMENTAL, err, sizeof err);
            if (r != SINK_DELIVERED) cli_error("stackstate: %s", err);
            stackstate_sink_free(sink);
        } else {
            cli_error("%s", err);
        }
        int accepted = r == SINK_DELIVERED || r == SINK_SET_ASIDE;
        buf out = {0};
        buf_puts(&out, "{\"batchItemFailures\":[");
        if (!accepted && first) {   /* Lambda hands the batch again from its first record */
            buf_puts(&out, "{\"itemIdentifier\":");
            intake_json_string(&out, first, strlen(first));
            buf_puts(&out, "}");
        }
        buf_puts(&out, "]}");
        fprintf(stderr, "publisher: %d records, %zu items, %s\n", n, topology_count(&t),
                accepted ? "delivered" : "not accepted: the batch comes again");
        rc = write_result(result_path, out.data) < 0 ? 2 : 0;
        buf_free(&out);
        buf_free(&spool);
        topology_free(&t);
    }
    config_free(&cfg);
    cJSON_Delete(doc);
    return rc;
}

int lambda_run_handler(lambda_handler h, const char *event_path, const char *result_path)
{
    switch (h) {
    case HANDLER_CRON: {
        char *argv[] = { "scan", NULL };
        return run_command(cmd_scan, argv, 1, h, result_path);
    }
    case HANDLER_CWEVENTS: {
        const char *stream = getenv("AWSTOPO_KINESIS_STREAM");
        char *argv[] = { "events", "process", "--kinesis-stream", (char *)stream, (char *)event_path, NULL };
        if (!stream || !*stream) {   /* no stream: straight to StackState */
            argv[2] = (char *)event_path;
            argv[3] = NULL;
            return run_command(cmd_events, argv, 3, h, result_path);
        }
        return run_command(cmd_events, argv, 5, h, result_path);
    }
    case HANDLER_PUBLISHER:
        return publisher(event_path, result_path);
    }
    return 2;
}
