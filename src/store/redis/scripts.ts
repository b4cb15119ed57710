/**
 * Lua scripts for the multi-step writes. A script runs atomically, and unlike
 * MULTI it is a single command, so it is bounded by the same per-command
 * timeout and the same fail-fast offline behaviour as every other command.
 */
import { createHash } from "node:crypto";

/** A script with its SHA1, for EVALSHA. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha1: createHash("sha1").update(source).digest("hex") };
}

/**
 * Writes one entry, replacing any previous one whole.
 * KEYS[1]: the entry key. ARGV[1]: absolute expiry in ms ("0": none).
 * ARGV[2..]: field/value pairs. Returns 1 when an entry was replaced.
 * DEL first, so no field of the previous entry survives; PEXPIREAT in the
 * same step, so the entry never exists without its TTL.
 */
export const PUT_ENTRY = script(
  "put-entry",
  `local existed = redis.call('EXISTS', KEYS[1])
if existed == 1 then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '0' then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end
return existed`,
);

/**
 * Adds one to an entry's hits. KEYS[1]: the entry key. Returns the new count,
 * or 0 when the entry is gone: a bare HINCRBY would recreate an expired or
 * deleted entry as a hash holding nothing but `hits`.
 */
export const RECORD_HIT = script(
  "record-hit",
  `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'hits', 1)`,
);

/**
 * Appends one observation to an entry's `obs` field (a JSON array of
 * `[similarity, correct, atMs]`, see store/observations.ts), keeping the
 * newest ARGV[5]. KEYS[1]: the entry key. ARGV: similarity, correct (0/1),
 * atMs, the caller's now (ms), the most to keep. Returns 1 when stored, 0
 * when the entry is gone or expired at ARGV[4] (the rule of store/expiry.ts,
 * applied on the server): like RECORD_HIT, it never
 * recreates an entry. Read, append and write happen in one step, so
 * concurrent observations all land. cjson prints 14 significant digits,
 * enough for six-decimal similarities and millisecond times.
 */
export const ADD_OBSERVATION = script(
  "add-observation",
  `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires') or '0') or 0
if expires ~= 0 and expires <= tonumber(ARGV[4]) then return 0 end
local list = {}
local raw = redis.call('HGET', KEYS[1], 'obs')
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if ok and type(decoded) == 'table' then list = decoded end
end
list[#list + 1] = {tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])}
local keep = tonumber(ARGV[5])
local kept = {}
for i = math.max(1, #list - keep + 1), #list do kept[#kept + 1] = list[i] end
redis.call('HSET', KEYS[1], 'obs', cjson.encode(kept))
return 1`,
);

/**
 * Deletes those of KEYS (one SCAN page of entry keys) whose namespace is
 * ARGV[1]; returns how many. The check and the UNLINK happen together, so an
 * entry replaced into another namespace meanwhile is left alone.
 */
export const UNLINK_NAMESPACE = script(
  "unlink-namespace",
  `local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('TYPE', key).ok == 'hash' and redis.call('HGET', key, 'ns') == ARGV[1] then
    redis.call('UNLINK', key)
    n = n + 1
  end
end
return n`,
);
