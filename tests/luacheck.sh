#!/bin/sh
# Runs luacheck on mappings/ and turns its verdict into a result line.
cd "$(dirname "$0")/.."
n=$(ls mappings/*.lua mappings/lib/*.lua 2>/dev/null | wc -l)
if luacheck --codes mappings/; then echo "$n passed, 0 failed"; else echo "0 passed, 1 failed"; fi
