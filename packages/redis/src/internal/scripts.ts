/**
 * The Lua scripts behind every multi-step operation of the Redis store. Each runs atomically on the
 * server; every key a script touches shares one hash tag, so it also runs on Redis Cluster.
 *
 * Times are epoch milliseconds from the server's own clock (`TIME`), so app instances with skewed
 * clocks agree on when a window ends.
 *
 * @packageDocumentation
 */

/** Epoch milliseconds on the server's clock. */
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * revokeSession. KEYS[1] the revocation key; ARGV[1] expiry (epoch ms) or '' for never.
 * Keeps the later expiry; never shortens; '' makes it permanent; a past expiry records nothing.
 */
export const REVOKE = `${NOW}
if ARGV[1] == '' then
  redis.call('SET', KEYS[1], '1')
  return 1
end
local at = tonumber(ARGV[1])
if at <= now then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then return 1 end
if ttl >= 0 and now + ttl >= at then return 1 end
redis.call('SET', KEYS[1], '1', 'PXAT', at)
return 1
`;

/**
 * increment. KEYS[1] a hash { n = count, r = window end in epoch ms }; ARGV[1] window length in ms.
 * Returns { count, window end }. The window is fixed when the counter is created.
 */
export const INCREMENT = `${NOW}
local reset = tonumber(redis.call('HGET', KEYS[1], 'r'))
if reset == nil or reset <= now then
  reset = now + tonumber(ARGV[1])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'r', string.format('%d', reset))
  redis.call('PEXPIREAT', KEYS[1], string.format('%d', reset))
end
local count = redis.call('HINCRBY', KEYS[1], 'n', 1)
return { count, reset }
`;

/**
 * mergeMetadata. KEYS[1] a hash { v = version, d = document JSON }; ARGV[1] the patch JSON (as
 * JSON.stringify wrote it), ARGV[2] expiry (epoch ms) or '' for never, ARGV[3] maxBytes,
 * ARGV[4] maxDepth. Returns { 1, version, document } or { 0, reason }.
 *
 * cjson is not used on purpose: it turns [] into {}, prints numbers with 14 significant digits and
 * escapes '/', so documents would change and sizes would differ from JSON.stringify. This parser
 * keeps every scalar and array as the exact text it arrived as and only rebuilds objects, so the
 * stored text is byte for byte what JSON.stringify gives for the merged document (up to key order),
 * and maxBytes means the same here as everywhere else.
 */
export const MERGE_METADATA = `${NOW}
local MAX_PARSE_DEPTH = 1000
local text, pos

local function fail(why) error({ err = 'anonymous-sessions: ' .. why }) end

local function ws()
  local _, e = string.find(text, '^[ \\t\\r\\n]*', pos)
  pos = e + 1
end

local function str()
  local i = pos + 1
  while true do
    local j = string.find(text, '["\\\\]', i)
    if not j then fail('unterminated string') end
    if string.byte(text, j) == 34 then
      local raw = string.sub(text, pos, j)
      pos = j + 1
      return raw
    end
    i = j + 2
  end
end

local value
value = function(depth)
  if depth > MAX_PARSE_DEPTH then fail('JSON nested too deeply') end
  ws()
  local c = string.byte(text, pos)
  if c == 123 then
    local node = { o = true, k = {}, v = {} }
    local deepest = 0
    pos = pos + 1
    ws()
    if string.byte(text, pos) == 125 then
      pos = pos + 1
      node.d = 1
      return node
    end
    while true do
      ws()
      if string.byte(text, pos) ~= 34 then fail('expected a key') end
      local key = str()
      ws()
      if string.byte(text, pos) ~= 58 then fail('expected :') end
      pos = pos + 1
      local child = value(depth + 1)
      if node.v[key] == nil then node.k[#node.k + 1] = key end
      node.v[key] = child
      if child.d > deepest then deepest = child.d end
      ws()
      c = string.byte(text, pos)
      pos = pos + 1
      if c == 125 then
        node.d = deepest + 1
        return node
      end
      if c ~= 44 then fail('expected , or }') end
    end
  elseif c == 91 then
    local start = pos
    local deepest = 0
    pos = pos + 1
    ws()
    if string.byte(text, pos) == 93 then
      pos = pos + 1
      return { r = '[]', d = 1 }
    end
    while true do
      local child = value(depth + 1)
      if child.d > deepest then deepest = child.d end
      ws()
      c = string.byte(text, pos)
      pos = pos + 1
      if c == 93 then return { r = string.sub(text, start, pos - 1), d = deepest + 1 } end
      if c ~= 44 then fail('expected , or ]') end
    end
  elseif c == 34 then
    return { r = str(), d = 0 }
  else
    local _, e = string.find(text, '^[%w%.%+%-]+', pos)
    if not e then fail('unexpected character') end
    local raw = string.sub(text, pos, e)
    pos = e + 1
    return { r = raw, d = 0, null = (raw == 'null') }
  end
end

local function parse(json)
  text = json
  pos = 1
  local node = value(1)
  ws()
  if pos <= #text then fail('trailing characters') end
  if not node.o then fail('not a JSON object') end
  return node
end

-- RFC 7396: null deletes, an object merges recursively (onto {} when the target is not an
-- object), anything else replaces.
local function merge(target, patch)
  if not (target and target.o) then target = { o = true, k = {}, v = {} } end
  for _, key in ipairs(patch.k) do
    local change = patch.v[key]
    if change.null then
      target.v[key] = nil
    else
      local current = target.v[key]
      if current == nil then target.k[#target.k + 1] = key end
      if change.o then target.v[key] = merge(current, change) else target.v[key] = change end
    end
  end
  return target
end

-- Compact JSON text and depth of a node.
local function serialize(node)
  if not node.o then return node.r, node.d end
  local parts, deepest, seen = {}, 0, {}
  for _, key in ipairs(node.k) do
    local child = node.v[key]
    if child ~= nil and not seen[key] then
      seen[key] = true
      local childText, childDepth = serialize(child)
      parts[#parts + 1] = key .. ':' .. childText
      if childDepth > deepest then deepest = childDepth end
    end
  end
  return '{' .. table.concat(parts, ',') .. '}', deepest + 1
end

local stored = redis.call('HMGET', KEYS[1], 'v', 'd')
local version = tonumber(stored[1]) or 0
local document
if stored[2] then document = parse(stored[2]) else document = { o = true, k = {}, v = {} } end
local patch = parse(ARGV[1])
local merged, depth = serialize(merge(document, patch))
if depth > tonumber(ARGV[4]) then return { 0, 'max_depth' } end
if #merged > tonumber(ARGV[3]) then return { 0, 'max_bytes' } end

local ttl = redis.call('PTTL', KEYS[1])
version = version + 1
redis.call('HSET', KEYS[1], 'v', version, 'd', merged)
if ARGV[2] == '' then
  redis.call('PERSIST', KEYS[1])
elseif ttl ~= -1 then
  local at = tonumber(ARGV[2])
  if ttl >= 0 and now + ttl > at then at = now + ttl end
  redis.call('PEXPIREAT', KEYS[1], string.format('%d', at))
end
return { 1, version, merged }
`;

/**
 * recordLink. KEYS[1] a hash session id → link JSON, KEYS[2] a sorted set session id → expiry
 * (epoch ms, +inf for never); ARGV[1] session id, ARGV[2] link JSON, ARGV[3] expiry or ''.
 * Drops expired entries, then both keys live as long as their latest entry.
 */
export const RECORD_LINK = `${NOW}
if ARGV[3] ~= '' and tonumber(ARGV[3]) <= now then return 0 end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, sessionId in ipairs(expired) do redis.call('HDEL', KEYS[1], sessionId) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '' then
  redis.call('ZADD', KEYS[2], '+inf', ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] == 'inf' then
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIREAT', KEYS[1], last[2])
  redis.call('PEXPIREAT', KEYS[2], last[2])
end
return 1
`;

/** listLinks. KEYS as in {@link RECORD_LINK}. Returns the JSON of every unexpired entry. */
export const LIST_LINKS = `${NOW}
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf')
local found = {}
for _, sessionId in ipairs(live) do
  local json = redis.call('HGET', KEYS[1], sessionId)
  if json then found[#found + 1] = json end
end
return found
`;

/**
 * seedMetadata. KEYS[1] the metadata hash (as in {@link MERGE_METADATA}); ARGV[1] the document
 * JSON, ARGV[2] its version, ARGV[3] expiry (epoch ms) or '' for never. Create-if-absent: returns
 * { 1, version, document } when it wrote (or, born expired, would have written) the given
 * document, { 0, version, document } with the live one when there was one.
 */
export const SEED_METADATA = `${NOW}
local stored = redis.call('HMGET', KEYS[1], 'v', 'd')
if stored[1] and stored[2] then return { 0, tonumber(stored[1]), stored[2] } end
if ARGV[3] ~= '' and tonumber(ARGV[3]) <= now then return { 1, tonumber(ARGV[2]), ARGV[1] } end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[1])
if ARGV[3] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
return { 1, tonumber(ARGV[2]), ARGV[1] }
`;

/**
 * epoch. KEYS[1] the epoch key; ARGV[1] a fresh random marker. Returns the stored marker, writing
 * ARGV[1] (with no expiry) when there is none.
 */
export const EPOCH = `
local stored = redis.call('GET', KEYS[1])
if stored then return stored end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;
