-- stackpack.lua -- `awstopo stackpack export`: the StackState configuration of
-- one StackPack instance, generated from the mappings' declarations.
--
-- Called by cmd_stackpack.c with (declarations, instance, topic):
--   declarations  JSON text: { "<mapping>": <awstopo mappings describe output> }
--   instance      the instance name (already checked: no quotes, braces, control characters)
--   topic         the instance's topology topic (sts_topo_aws_<url>)
-- Returns the document as JSON text and a list of warnings, or raises an error
-- that names the mapping and type at fault.
--
-- The document is StackState's configuration import format ("STJ": `_version`,
-- `timestamp`, `nodes`; each node has a `_type`, a negative `id` that other
-- nodes of the document refer to, and an `identifier` URN that makes a second
-- import update the node instead of adding one). Node shapes follow the
-- StackState 4.2 documentation (see docs/stackpack.md). Shared nodes are
-- the same for every instance; instance nodes carry the instance in their
-- identifiers and names.

local decls_json, instance, topic = ...

local VIEWS = { all = true, infrastructure = true, serverless = true }
local DEFAULT_LAYER = "Uncategorized"
local DEFAULT_DOMAIN = "AWS"
local SHARED = "urn:stackpack:awstopo:shared"

-- StackState's common layers (4.3+, "StackState Common Layer"), top to bottom.
local COMMON_LAYERS = {
  "Blueprints", "Users", "Business Processes", "Applications", "Application Load Balancers",
  "Uncategorized", "Services", "Serverless", "Containers", "Processes", "Messaging",
  "Databases", "Machines", "Storage", "Networking", "Hardware", "Locations",
}

local function slug(s)
  return (s:lower():gsub("[^%w%.]+", "-"):gsub("^%-+", ""):gsub("%-+$", ""))
end

local warnings = json.array()
local function warn(fmt, ...) warnings[#warnings + 1] = fmt:format(...) end

-- ---- the declarations -> one entry per component type ----

local function check_action(where, action)
  if action == nil then return nil end
  if type(action) ~= "table" or type(action.name) ~= "string" or action.name == ""
      or type(action.url) ~= "string" or action.url == "" then
    error(where .. ": `action` must be { name = \"Go to ... console\", url = \"{console}/...\" }", 0)
  end
  return action
end

local function check_views(where, views)
  if views == nil then return { all = true } end
  if type(views) ~= "table" then error(where .. ": `views` must be a list of all / infrastructure / serverless", 0) end
  local set = {}
  for _, v in ipairs(views) do
    if not VIEWS[v] then
      error(("%s: unknown view %q in `views` (all, infrastructure, serverless)"):format(where, tostring(v)), 0)
    end
    set[v] = true
  end
  return set
end

-- Names go into STQL strings and URNs: keep them to what needs no quoting.
local function check_name(where, what, value)
  if type(value) ~= "string" or not value:match("^[%w][%w%.%-_ ]*$") then
    error(("%s: %s %q must be letters, digits, '.', '-', '_' or spaces"):format(where, what, tostring(value)), 0)
  end
  return value
end

local function collect_types(decls)
  local types, owner = {}, {}
  local mappings = {}
  for name in pairs(decls) do mappings[#mappings + 1] = name end
  table.sort(mappings)
  for _, mapping in ipairs(mappings) do
    for tname, t in pairs(decls[mapping].types or {}) do
      local where = ("mapping %s, type %s"):format(mapping, tname)
      check_name(("mapping %s"):format(mapping), "type name", tname)
      if owner[tname] then
        error(("%s: also declared by mapping %s"):format(where, owner[tname]), 0)
      end
      owner[tname] = mapping
      if t.layer == nil then warn("%s: no `layer`, using %s", where, DEFAULT_LAYER) end
      local action = check_action(where, t.action)
      if not action then warn("%s: no `action`, so no console action", where) end
      types[#types + 1] = {
        name = tname, mapping = mapping, service = decls[mapping].service,
        layer = check_name(where, "layer", t.layer or DEFAULT_LAYER),
        domain = check_name(where, "domain", t.domain or DEFAULT_DOMAIN),
        views = check_views(where, t.views), action = action,
      }
    end
  end
  table.sort(types, function(a, b) return a.name < b.name end)
  return types
end

-- The Infrastructure view selects whole layers (the product page: Networking,
-- Storage and Machines), so a layer's types must agree on it.
local function infrastructure_layers(types)
  local in_view, out_view = {}, {}
  for _, t in ipairs(types) do
    if t.views.infrastructure then in_view[t.layer] = in_view[t.layer] or t.name
    else out_view[t.layer] = out_view[t.layer] or t.name end
  end
  local layers = {}
  for layer, tname in pairs(in_view) do
    if out_view[layer] then
      error(("layer %s: type %s declares the infrastructure view and type %s does not; the Infrastructure "
             .. "view selects whole layers, so either all of a layer's types declare it or none"):format(
             layer, tname, out_view[layer]), 0)
    end
    layers[#layers + 1] = layer
  end
  table.sort(layers)
  return layers
end

-- ---- nodes ----

local nodes = json.array()
local next_id = 0
local function new_id()
  next_id = next_id - 1
  return next_id
end

-- Adds a node (numbered unless it already is); returns its id.
local function node(n)
  n.id = n.id or new_id()
  nodes[#nodes + 1] = n
  return n.id
end

local function parameter(name, system)
  return json.array({ { _type = "Parameter", id = new_id(), name = name, multiple = false, required = true,
                        system = system, type = "STRUCT_TYPE" } })
end

local function quoted_list(values)
  local q = {}
  for i, v in ipairs(values) do q[i] = ("%q"):format(v) end
  return table.concat(q, ", ")
end

local function distinct(types, field)
  local seen, list = {}, {}
  for _, t in ipairs(types) do
    if not seen[t[field]] then
      seen[t[field]] = true
      list[#list + 1] = t[field]
    end
  end
  table.sort(list)
  return list
end

local function add_layers(types)
  local order = {}
  for i, name in ipairs(COMMON_LAYERS) do order[name] = i end
  for _, layer in ipairs(distinct(types, "layer")) do
    local common = order[layer]
    node {
      _type = "Layer", name = layer,
      -- a common layer keeps StackState's identifier, so components of other
      -- StackPacks in the same layer share it
      identifier = common and ("urn:stackpack:common:layer:" .. slug(layer)) or (SHARED .. ":layer:" .. slug(layer)),
      order = (common or #COMMON_LAYERS + 1) * 100.0,
      description = common and ("StackState common layer " .. layer) or ("Layer " .. layer .. " (awstopo mappings)"),
    }
  end
end

local function add_domains(types)
  for i, domain in ipairs(distinct(types, "domain")) do
    node { _type = "Domain", name = domain, identifier = SHARED .. ":domain:" .. slug(domain),
           order = 1000.0 + i, description = "Components of the awstopo mappings in domain " .. domain }
  end
end

local function add_component_types(types)
  for _, t in ipairs(types) do
    node { _type = "ComponentType", name = t.name, identifier = SHARED .. ":component-type:" .. slug(t.name),
           description = ("%s (mapping %s; layer %s, domain %s)"):format(t.name, t.mapping, t.layer, t.domain) }
  end
end

-- The action reads the console URL the mapping put into the component's data
-- (lib/topology.lua: data.ConsoleUrl from the type's action.url template).
local ACTION_SCRIPT = [[
// Opens the AWS console at this component: data.ConsoleUrl, filled by the awstopo mapping.
def url = component.synced.collect { it.extTopologyElement?.data?.ConsoleUrl }.find { it }
if (url == null) {
    throw new IllegalStateException("${component.name} has no AWS console URL")
}
UI.redirectToURL(url)
]]

local function add_actions(types)
  for _, t in ipairs(types) do
    if t.action then
      node {
        _type = "ComponentActionDefinition", name = t.action.name,
        description = ("Opens this %s in the AWS console"):format(t.name),
        identifier = SHARED .. ":component-action:" .. slug(t.name),
        bindQuery = ('label = "stackpack:aws" AND type = %q'):format(t.name),
        script = ACTION_SCRIPT,
      }
    end
  end
end

local COMPONENT_ID_EXTRACTOR = [[
element = topologyElement.asReadonlyMap()
externalId = element["externalId"]
type = element["typeName"].toLowerCase()
data = element["data"]
identifiers = new HashSet()
identifiers.add(externalId)
if (data.containsKey("identifiers") && data["identifiers"] instanceof List) {
    data["identifiers"].each { id -> identifiers.add(id) }
}
return Sts.createId(externalId, identifiers, type)
]]

local RELATION_ID_EXTRACTOR = [[
element = topologyElement.asReadonlyMap()
externalId = element["externalId"]
type = element["typeName"].toLowerCase()
return Sts.createId(externalId, new HashSet(), type)
]]

local function get_or_create(kind, value, prefix)
  return ('{{ getOrCreate (identifier "%s" "%s" %s) (identifier "urn:system:auto" "%s" %s) '
          .. '(concat "Type=%s;Name=" %s) }}'):format(prefix, kind, value, kind, value, kind, value)
end

local COMPONENT_TEMPLATE = table.concat({
  '{',
  '  "_type": "Component",',
  '  "checks": [],',
  '  "streams": [],',
  '  "labels": [{{# join element.data.labels "," }}{ "_type": "Label", "name": "{{ this }}" }{{/ join }}],',
  '  "name": "{{#if element.data.name}}{{ element.data.name }}{{else}}{{ element.externalId }}{{/if}}",',
  '  "type": ' .. get_or_create("ComponentType", "element.type.name", SHARED) .. ',',
  '  "layer": ' .. get_or_create("Layer", "element.data.layer", "urn:stackpack:common") .. ',',
  '  "domain": ' .. get_or_create("Domain", "element.data.domain", SHARED) .. ',',
  '  "environments": [' .. get_or_create("Environment", "element.data.environment", "urn:stackpack:common") .. ']',
  '}',
}, "\n")

local RELATION_TEMPLATE = table.concat({
  '{',
  '  "_type": "Relation",',
  '  "checks": [],',
  '  "streams": [],',
  '  "labels": [],',
  '  "name": "{{ element.type.name }}",',
  '  "type": ' .. get_or_create("RelationType", "element.type.name", SHARED) .. ',',
  '  "dependencyDirection": "ONE_WAY",',
  '  "source": {{ element.sourceId }},',
  '  "target": {{ element.targetId }}',
  '}',
}, "\n")

-- Shared functions of every instance's synchronization; returns their ids.
local function add_sync_functions()
  local f = {}
  f.component_id = node { _type = "IdExtractorFunction", name = "awstopo component id extractor",
    identifier = SHARED .. ":id-extractor-function:component", groovyScript = COMPONENT_ID_EXTRACTOR,
    description = "The component's externalId (its ARN) and data.identifiers",
    parameters = parameter("topologyElement", true) }
  f.relation_id = node { _type = "IdExtractorFunction", name = "awstopo relation id extractor",
    identifier = SHARED .. ":id-extractor-function:relation", groovyScript = RELATION_ID_EXTRACTOR,
    description = "The relation's externalId (<source>-<type>-<target>)",
    parameters = parameter("topologyElement", true) }
  f.component_template = node { _type = "ComponentTemplateFunction", name = "awstopo component template",
    identifier = SHARED .. ":component-template-function:component", handlebarsTemplate = COMPONENT_TEMPLATE,
    parameters = parameter("element", false) }
  f.relation_template = node { _type = "RelationTemplateFunction", name = "awstopo relation template",
    identifier = SHARED .. ":relation-template-function:relation", handlebarsTemplate = RELATION_TEMPLATE,
    parameters = parameter("element", false) }
  return f
end

-- The instance's data source, synchronization and the label that tells its
-- components apart from other instances' (the views select on it).
local function add_instance_sync(base, label, f)
  local source_id, ext_id, settings_id = new_id(), new_id(), new_id()
  node {
    _type = "DataSource", id = source_id, name = "AWS - " .. instance, identifier = base .. ":data-source:aws",
    description = "awstopo topology of AWS instance " .. instance, pluginId = "Sts", uiRequestTimeout = 15000,
    config = { _type = "Sts.StsTopologyDataSourceConfig", autoExpireElements = false,
               expireElementsAfter = 172800000, integrationType = "aws", topic = topic,
               supportedDataTypes = json.array({ "TOPOLOGY_ELEMENTS" }), supportedWindowingMethods = json.array() },
    extTopology = { _type = "ExtTopology", dataSource = source_id, id = ext_id,
                    settings = { _type = "TopologySyncSettings", id = settings_id, cleanupExpiredElements = false,
                                 cleanupInterval = 3600000, maxBatchSize = 200, maxBatchesPerSecond = 5 } },
  }
  local mapping = node { _type = "ComponentMappingFunction", name = "AWS component mapping - " .. instance,
    identifier = base .. ":component-mapping-function:instance-label",
    script = ('def labels = element.data.containsKey("labels") ? new ArrayList(element.data.labels) : new ArrayList()\n'
              .. 'labels << "%s"\nelement.data.put("labels", labels)\nelement\n'):format(label),
    parameters = parameter("element", true) }
  node {
    _type = "Sync", name = "AWS Sync - " .. instance, identifier = base .. ":sync:aws", extTopology = ext_id,
    componentActions = json.array(), relationActions = json.array(),
    defaultComponentAction = { _type = "SyncActionCreateComponent", mappingFunction = mapping,
                               mergeStrategy = "MergePreferTheirs", templateFunction = f.component_template,
                               type = "default_component_mapping" },
    defaultRelationAction = { _type = "SyncActionCreateRelation", mergeStrategy = "MergePreferTheirs",
                              templateFunction = f.relation_template, type = "default_relation_mapping" },
    topologyDataQuery = { _type = "Sts.StsTopologyElementsQuery", consumerOffsetStartAtEarliest = false,
                          componentIdExtractorFunction = f.component_id,
                          relationIdExtractorFunction = f.relation_id },
  }
end

local function add_view(base, key, title, query)
  node { _type = "QueryView", name = ("AWS - %s - %s"):format(instance, title),
         identifier = base .. ":query-view:" .. key, query = query, queryVersion = "0.0.1",
         groupedByDomains = true, groupedByLayers = true, groupedByRelations = true, groupingEnabled = true,
         minimumGroupSize = 10, showIndirectRelations = false }
end

local function add_views(base, label, types)
  local all = ('label = "stackpack:aws" AND label = %q'):format(label)
  add_view(base, "all", "All", all)
  local layers = infrastructure_layers(types)
  if #layers > 0 then
    add_view(base, "infrastructure", "Infrastructure", ("%s AND layer IN (%s)"):format(all, quoted_list(layers)))
  else
    warn("no type declares the infrastructure view: no Infrastructure view")
  end
  local serverless = {}
  for _, t in ipairs(types) do
    if t.views.serverless then serverless[#serverless + 1] = t.name end
  end
  if #serverless > 0 then
    add_view(base, "serverless", "Serverless", ("%s AND type IN (%s)"):format(all, quoted_list(serverless)))
  else
    warn("no type declares the serverless view: no Serverless view")
  end
end

-- ---- the document ----

local decls = json.decode(decls_json)
local types = collect_types(decls)
if #types == 0 then error("the mappings declare no component types", 0) end
infrastructure_layers(types)   -- fail before writing anything

add_layers(types)
add_domains(types)
add_component_types(types)
add_actions(types)
local functions = add_sync_functions()
local base = "urn:stackpack:awstopo:instance:" .. slug(instance)
local label = "aws-instance:" .. instance
add_instance_sync(base, label, functions)
add_views(base, label, types)

local doc = { _version = "1.0.0", timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ"), nodes = nodes }
return json.encode(doc, 2), warnings
