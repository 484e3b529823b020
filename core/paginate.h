/* paginate.h -- following an operation's pages, as paginators-1.json describes.
 *
 * Every token style of the AWS models is a list of input tokens and a list
 * of output token expressions of equal length:
 *   NextToken -> NextToken                     (most json services)
 *   Marker <- NextMarker                       (query services, Route 53 zones)
 *   ExclusiveStartTableName <- LastEvaluatedTableName   (DynamoDB)
 *   StartRecordName/Type/Identifier <- NextRecordName/Type/Identifier (Route 53)
 *   position <- position                       (API Gateway)
 *   Marker <- "NextMarker || Contents[-1].Key"  (S3 ListObjects: expressions)
 * plus an optional more_results flag ("IsTruncated").
 */
#ifndef AWSTOPO_PAGINATE_H
#define AWSTOPO_PAGINATE_H

#include <lua.h>

#include "model.h"

/* Given the params table at params_idx that produced the page at page_idx,
 * pushes the params of the next page (a new table) and returns 1, or pushes
 * nothing and returns 0 when this was the last page. The table at seen_idx
 * remembers the tokens already followed: a token seen twice raises a Lua
 * error instead of looping forever. */
int paginate_next(lua_State *L, const paginator *p, int params_idx, int page_idx, int seen_idx);

/* Evaluates a token / result-key expression ("A.B", "A[-1].B", "X || Y")
 * against the table at idx and pushes the value (nil when absent). */
void paginate_eval(lua_State *L, int idx, const char *expr);

#endif
