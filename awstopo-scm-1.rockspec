-- awstopo-scm-1.rockspec -- builds and installs awstopo through its Makefile.
--   luarocks make        (from a checkout)
rockspec_format = "3.0"
package = "awstopo"
version = "scm-1"
source = { url = "git+file://." }
description = {
  summary = "AWS topology for StackState: a C engine with Lua mapping scripts",
  detailed = [[
awstopo scans AWS accounts (19 services), turns their resources into StackState
components and relations with Lua mappings, and sends them to StackState.]],
  license = "Apache-2.0",
}
dependencies = { "lua >= 5.4" }
build = {
  type = "make",
  build_variables = { PREFIX = "$(PREFIX)" },
  install_variables = { PREFIX = "$(PREFIX)" },
  build_target = "all",
  install_target = "install",
}
