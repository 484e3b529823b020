/* aws_json.h -- one AWS call from C: JSON parameters in, JSON result out.
 *
 * For the core's own calls outside any mapping (the Kinesis producer and
 * consumer): the same model-driven client, signing and retries as
 * ctx.aws.call, with parameters and result as JSON text in the AWS CLI's
 * shape (blobs base64, timestamps ISO 8601).
 */
#ifndef AWSTOPO_AWS_JSON_H
#define AWSTOPO_AWS_JSON_H

#include "client.h"
#include "model.h"

/* Why a core call failed, after its retries (protocol.h's aws_error is the
 * error a response carried, before the client decided anything). */
typedef struct aws_call_error {
    char code[128];          /* AWS error code ("ExpiredIteratorException"), or "" */
    char message[512];
    long status;             /* HTTP status, 0 when there was no answer */
    int throttling;          /* a throttling error (retries already spent) */
} aws_call_error;

/* Calls service:op with params (a JSON object; NULL = {}) in region (NULL:
 * the client's). Returns the result as JSON (caller frees), or NULL with e
 * filled in. */
char *aws_call_json(aws_client *c, model_registry *models, const char *service, const char *op,
                    const char *params_json, const char *region, aws_call_error *e);

/* The same, with blob_member (e.g. S3 PutObject's "Body") set to blob_len raw
 * bytes (not copied beyond the call; the caller keeps blob). */
char *aws_call_json_blob(aws_client *c, model_registry *models, const char *service, const char *op,
                         const char *params_json, const char *blob_member, const void *blob, size_t blob_len,
                         const char *region, aws_call_error *e);

/* The same with cJSON: params (NULL = {}) is consumed, the result returned
 * as a cJSON tree (caller cJSON_Delete()s), or NULL with e filled in. */
struct cJSON;
struct cJSON *aws_call_cjson(aws_client *c, model_registry *models, const char *service, const char *op,
                             struct cJSON *params, const char *region, aws_call_error *e);

#endif
