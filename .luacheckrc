-- luacheck configuration for mappings/ and core/*.lua (run: make lint)
std = "lua54"
-- the sandbox provides these (core/engine.c); io, os.execute, package, debug do not exist there
read_globals = { "json", table = { fields = { "clone" } } }
max_line_length = 120
