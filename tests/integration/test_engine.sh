#!/bin/sh
# The mapping engine's guarantees, as fixture cases (tests/engine/): sandbox,
# instruction budget, memory limit, undeclared calls, failing children of
# ctx.each, pagination loops, undeclared types, syntax errors. Each case's golden
# file holds the error the run must end with.
cd "$(dirname "$0")/../.."
AWSTOPO_INSTRUCTION_BUDGET=50000000 AWSTOPO_MEMORY_LIMIT_MB=64 exec "${AWSTOPO_BIN:-./awstopo}" test tests/engine
