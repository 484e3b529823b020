#!/bin/sh
# Runs luacheck on mappings/ and core/*.lua (the Lua compiled into the binary) and turns its verdict into a result line.
cd "$(dirname "$0")/.."
n=$(ls mappings/*.lua mappings/lib/*.lua 2>/dev/null | wc -l)
n=$((n + $(ls core/*.lua | wc -l)))
if luacheck --codes mappings/ core/*.lua; then echo "$n passed, 0 failed"; else echo "0 passed, 1 failed"; fi
