/* aws_input.h -- what the response and error harnesses share (aws_input.c).
 *
 * Their input is an HTTP response for one operation of a real service model
 * (models/ in the working directory):
 *
 *     <service> <Operation> [<status>]\n
 *     Header-Name: value\n            (any number, then an empty line)
 *     \n
 *     <body>
 *
 * Without an empty line after the first line, everything after it is the
 * body. A first line that names no operation of the harness's models picks
 * one by its hash, so every mutation still reaches a parser.
 */
#ifndef AWSTOPO_FUZZ_AWS_H
#define AWSTOPO_FUZZ_AWS_H

#include "model.h"
#include "request.h"

typedef struct fuzz_op {
    const aws_model *m;
    const operation *op;
} fuzz_op;

/* Loads every model under models/ whose protocol want() accepts (want NULL:
 * all) and lists their operations (only those with an output shape when
 * need_output). Kept for the life of the process; exits when none loads. */
void fuzz_ops_load(int (*want)(protocol_kind), int need_output);

/* Reads the input (format above) into resp (initialized here; the caller
 * frees it with response_free) and returns the operation it is for;
 * default_status when the first line gives none or a number outside 100..599. */
const fuzz_op *fuzz_response_read(const uint8_t *data, size_t size, long default_status,
                                  http_response *resp);

#endif
