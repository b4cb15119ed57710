/** Lua scripts of the fleet modules, with their SHA1 for EVALSHA (see RedisConnection.script). */
import { createHash } from "node:crypto";
import type { LuaScript } from "../store/redis/scripts.js";

/** A script with its SHA1. */
export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha1: createHash("sha1").update(source).digest("hex") };
}
