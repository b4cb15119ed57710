/**
 * The Redis store over a plain redis-server (Debian's, no query engine), for
 * tests of everything that needs no FT.*: the production connection, entry
 * layout, scripts and flushes, with an EntrySearch that has no index behind
 * it. openRedisStore itself refuses such a server, and nothing in src/ can
 * be talked out of that.
 *
 * What it can and cannot do: get, put, hits, observations, flushes and
 * count (by SCAN) work; search and listRecent throw StoreUnavailableError
 * ("... needs the Redis query engine"), as a store whose index is gone would.
 */
import { createHash } from "node:crypto";
import type { EntryScope, Neighbour, StoredEntry } from "../../src/store/cache-store.js";
import { StoreUnavailableError } from "../../src/store/cache-store.js";
import type { StoreConnection } from "../../src/store/redis/connection.js";
import { connectRedis, indexDefinition, RedisStore, type EntrySearch, type RedisStoreOptions } from "../../src/store/redis/index.js";
import { DEFAULT_KEY_PREFIX, escapeGlob } from "../../src/store/redis/naming.js";
import type { LuaScript } from "../../src/store/redis/scripts.js";

/** Counts those of KEYS (one SCAN page) that are entries, of namespace ARGV[1] when given. */
const COUNT_ENTRIES_SOURCE = `local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('TYPE', key).ok == 'hash' and (ARGV[1] == nil or redis.call('HGET', key, 'ns') == ARGV[1]) then
    n = n + 1
  end
end
return n`;
const COUNT_ENTRIES: LuaScript = {
  name: "count-entries",
  source: COUNT_ENTRIES_SOURCE,
  sha1: createHash("sha1").update(COUNT_ENTRIES_SOURCE).digest("hex"),
};

/** Searches that need an index this Redis cannot have; counting by SCAN instead. */
class NoQueryEngine implements EntrySearch {
  constructor(
    private readonly connection: StoreConnection,
    private readonly entryPrefix: string,
  ) {}

  async search(_scope: EntryScope, _vector: Float32Array, _k: number, _nowMs: number): Promise<Neighbour[]> {
    throw this.refusal("search");
  }

  async listRecent(_namespace: string, _limit: number, _nowMs: number): Promise<StoredEntry[]> {
    throw this.refusal("listRecent");
  }

  async count(namespace?: string): Promise<number> {
    let count = 0;
    let cursor = "0";
    do {
      const [next, keys] = await this.connection.command<[string, string[]]>(["SCAN", cursor, "MATCH", `${escapeGlob(this.entryPrefix)}*`, "COUNT", "500"]);
      cursor = String(next);
      if (keys.length > 0) count += await this.connection.script<number>(COUNT_ENTRIES, keys.map(String), namespace === undefined ? [] : [namespace]);
    } while (cursor !== "0");
    return count;
  }

  async ready(): Promise<void> {}

  entryAdded(): void {}

  entriesRemoved(): void {}

  private refusal(operation: string): StoreUnavailableError {
    return new StoreUnavailableError(`${operation} needs the Redis query engine, which this test redis-server lacks`);
  }
}

/** Opens the Redis store on a plain redis-server; same options as openRedisStore. */
export async function openPlainRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const definition = indexDefinition(options);
  const connection = await connectRedis(options);
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  return new RedisStore(connection, keyPrefix, definition, options.index, new NoQueryEngine(connection, definition.prefix));
}
