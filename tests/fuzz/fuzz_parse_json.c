/* fuzz_parse_json.c -- the JSON response parser (parse_json.c) on the
 * outputs of the json and rest-json services in models/. See
 * response.inc. */
#include "model.h"

static int want_json(protocol_kind p) { return p == PROTO_JSON || p == PROTO_REST_JSON; }
#define WANT_PROTOCOL want_json
#include "response.inc"
