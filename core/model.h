/* model.h -- AWS service models (botocore's service-2.json / paginators-1.json).
 *
 * A model file is read once and compiled into the structs below: every shape
 * reference is resolved to a pointer, so the protocol code walks a tree of
 * structs instead of looking names up in JSON. All strings and arrays belong to
 * the aws_model (one arena per model) and live until model_free().
 *
 * Models are found on a search path: the directories of --models and
 * AWSTOPO_MODEL_PATH (':'-separated) first, then the bundled models/ directory.
 * Within a directory a service is looked up as
 *     <dir>/<service>/<version>/service-2.json[.gz]   (botocore's layout; the
 *                                                     newest version wins)
 *     <dir>/<service>.json[.gz]                       (a single file)
 * and paginators as paginators-1.json[.gz] beside it, or <service>.paginators.json.
 */
#ifndef AWSTOPO_MODEL_H
#define AWSTOPO_MODEL_H

#include <stddef.h>

typedef enum shape_type {
    SHAPE_STRUCTURE,
    SHAPE_LIST,
    SHAPE_MAP,
    SHAPE_STRING,
    SHAPE_INTEGER,
    SHAPE_LONG,
    SHAPE_FLOAT,
    SHAPE_DOUBLE,
    SHAPE_BOOLEAN,
    SHAPE_TIMESTAMP,
    SHAPE_BLOB
} shape_type;

typedef struct shape shape;

/* Where a member of a rest-* input/output goes on the wire. */
typedef enum member_location {
    LOC_BODY = 0,
    LOC_URI,            /* path label {Name} or {Name+} */
    LOC_QUERYSTRING,
    LOC_HEADER,
    LOC_HEADERS,        /* map: prefix + key (location_name is the prefix) */
    LOC_STATUS_CODE
} member_location;

/* A member of a structure, or the element / key / value of a list or map. */
typedef struct member {
    const char *name;           /* boto3 key (structure members); NULL for list/map parts */
    shape *shape;
    const char *location_name;  /* wire name (locationName), or NULL = name */
    const char *query_name;     /* ec2 queryName, or NULL */
    member_location location;
    const char *xml_namespace_uri;    /* xmlNamespace.uri of the member, or NULL */
    const char *xml_namespace_prefix; /* xmlNamespace.prefix, or NULL */
    unsigned flattened : 1;     /* member-level "flattened" */
    unsigned xml_attribute : 1;
    unsigned required : 1;
    unsigned idempotency_token : 1;
    unsigned host_label : 1;
    unsigned json_value : 1;    /* header carrying base64 JSON */
    unsigned event_payload : 1;
    const char *timestamp_format; /* member-level override, or NULL */
} member;

struct shape {
    const char *name;
    shape_type type;
    /* structure */
    member *members;
    size_t nmembers;
    const char *payload;        /* name of the payload member, or NULL */
    unsigned exception : 1;
    unsigned is_union : 1;
    unsigned document : 1;
    unsigned event_stream : 1;
    unsigned streaming : 1;     /* blob/string streamed as the raw body */
    unsigned flattened : 1;     /* list/map: no wrapper element */
    unsigned sensitive : 1;     /* never log the value */
    const char *error_code;     /* error.code of an exception shape, or NULL */
    int error_status;           /* error.httpStatusCode, or 0 */
    /* list: element; map: key and value */
    member element;
    member key;
    member value;
    const char *location_name;  /* shape-level locationName (XML element name) */
    const char *timestamp_format; /* "iso8601", "unixTimestamp", "rfc822", or NULL */
    const char *xml_namespace_uri;
    const char *xml_namespace_prefix;
    /* scalars */
    const char **enum_values;   /* NULL-terminated, or NULL */
    double min, max;            /* min/max constraints, 0 when unset */
};

typedef struct paginator {
    const char **input_tokens;   /* NULL-terminated */
    const char **output_tokens;  /* NULL-terminated; may be paths "A.B" or "X || Y[-1].Z" */
    const char *more_results;    /* or NULL */
    const char *limit_key;       /* or NULL */
    const char **result_keys;    /* NULL-terminated, or NULL */
    const char **non_aggregate_keys; /* NULL-terminated, or NULL */
} paginator;

typedef struct operation {
    const char *name;
    const char *http_method;     /* "POST" when unset */
    const char *request_uri;     /* "/" when unset */
    int response_code;           /* http.responseCode, or 0 */
    shape *input;                /* may be NULL */
    shape *output;               /* may be NULL */
    const char *result_wrapper;  /* query/ec2 output.resultWrapper, or NULL */
    const char *input_xml_name;  /* input.locationName (rest-xml payload root), or NULL */
    const char *input_xml_ns;    /* input.xmlNamespace.uri, or NULL */
    const char *host_prefix;     /* endpoint.hostPrefix, or NULL */
    shape **errors;              /* NULL-terminated list of declared error shapes */
    const char *auth_type;       /* "none", "v4-unsigned-body", or NULL */
    unsigned http_checksum_required : 1;
    unsigned request_compression : 1;
    const paginator *paginator;  /* NULL when the operation does not paginate */
} operation;

typedef enum protocol_kind {
    PROTO_QUERY,
    PROTO_EC2,
    PROTO_JSON,
    PROTO_REST_JSON,
    PROTO_REST_XML
} protocol_kind;

typedef struct aws_model {
    const char *service;          /* name the model was loaded as, e.g. "ec2" */
    const char *api_version;
    const char *endpoint_prefix;  /* host label, e.g. "elasticloadbalancing" */
    const char *signing_name;     /* SigV4 service name */
    const char *service_id;       /* "EC2", "Elastic Load Balancing v2", ... */
    const char *target_prefix;    /* json X-Amz-Target prefix */
    const char *json_version;     /* "1.0" or "1.1" */
    const char *global_endpoint;  /* e.g. "route53.amazonaws.com", or NULL */
    const char *signature_version;/* "v4", "s3", "s3v4" */
    const char *xml_namespace;    /* metadata.xmlNamespace (query), or NULL */
    protocol_kind protocol;       /* first protocol of metadata.protocols we speak */
    unsigned query_compatible : 1;/* awsQueryCompatible: error codes from x-amzn-query-error */
    char *path;                   /* file it came from, or NULL (owned; freed by model_free) */

    operation *operations;        /* sorted by name */
    size_t noperations;
    struct model_arena *arena;    /* private: owns everything above */
    struct shape_table *shapes;   /* private: name -> shape */
    /* A memo the response parsers keep with the model (their member indexes
     * and table size hints, protocol_parse.c), built on first use and freed
     * by model_free through the hook they set. Not part of the model's
     * meaning: parsers fill it in through a const model. */
    void *parse_cache;
    void (*parse_cache_free)(void *);
} aws_model;

/* Compiles a model from the text of a service-2.json and (optionally, may be
 * NULL) a paginators-1.json. On failure returns NULL and writes why into err.
 * Caller frees with model_free. */
aws_model *model_parse(const char *service, const char *service_json, size_t len,
                       const char *paginators_json, size_t plen, char *err, size_t errlen);
void model_free(aws_model *m);

/* Operation by exact name (binary search), or NULL. */
const operation *model_operation(const aws_model *m, const char *name);
/* Shape by name, or NULL. */
shape *model_shape(const aws_model *m, const char *name);

const char *protocol_name(protocol_kind p);

/* ---- the model registry: loaded models, by service name ---- */

typedef struct model_registry model_registry;

/* search_path: ':'-separated directories searched in order; may be NULL.
 * Caller frees with model_registry_free. */
model_registry *model_registry_new(const char *search_path);
void model_registry_free(model_registry *r);
/* Loads (once) and returns the model of `service` ("ec2", "elbv2", ...); the
 * registry owns it. On failure returns NULL with the reason in err (including
 * the directories searched). */
const aws_model *model_registry_get(model_registry *r, const char *service, char *err, size_t errlen);

#endif
