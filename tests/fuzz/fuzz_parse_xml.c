/* fuzz_parse_xml.c -- the XML response parser (parse_xml.c) on the outputs
 * of the query, ec2 and rest-xml services in models/. See
 * response.inc. */
#include "model.h"

static int want_xml(protocol_kind p) { return p == PROTO_QUERY || p == PROTO_EC2 || p == PROTO_REST_XML; }
#define WANT_PROTOCOL want_xml
#include "response.inc"
