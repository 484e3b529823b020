/* embedded.h -- the Lua sources compiled into the binary: each core/NAME.lua
 * becomes NAME_lua[] (NUL-terminated) and NAME_lua_len (tools/embed.sh), so
 * they are Lua files that luacheck reads, not C string literals. */
#ifndef AWSTOPO_EMBEDDED_H
#define AWSTOPO_EMBEDDED_H

#include <stddef.h>

extern const char engine_lua[];     /* the ctx of mapping runs (engine.c) */
extern const size_t engine_lua_len;
extern const char call_lua[];       /* awstopo call (cmd_call.c), the core's own calls (aws_json.c) */
extern const size_t call_lua_len;
extern const char account_lua[];    /* a scan's account lookups (cmd_scan.c) */
extern const size_t account_lua_len;
extern const char metrics_lua[];    /* CloudWatch metrics of a topology (metrics.c) */
extern const size_t metrics_lua_len;
extern const char alarms_lua[];     /* alarms -> health, loaded by metrics.lua's job (metrics.c) */
extern const size_t alarms_lua_len;
extern const char stackpack_lua[];  /* the StackState configuration of an instance (cmd_stackpack.c) */
extern const size_t stackpack_lua_len;
extern const char check_lua[];      /* awstopo mappings check (mapping_check.c) */
extern const size_t check_lua_len;

#endif
