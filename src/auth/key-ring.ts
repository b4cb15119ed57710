import { timingSafeEqual } from "node:crypto";
import type { CompiledKey } from "./key-file.js";
import { hashApiKey } from "./key-hash.js";
import type { Principal } from "./principal.js";

/**
 * The keys currently in force. `replace` swaps the whole set at once (a key
 * file reload), so a request sees either the old keys or the new ones.
 */
export class KeyRing {
  private keys: readonly CompiledKey[];

  constructor(keys: readonly CompiledKey[]) {
    this.keys = keys;
  }

  /** How many keys are in force. */
  get size(): number {
    return this.keys.length;
  }

  /** Puts a new set of keys in force. */
  replace(keys: readonly CompiledKey[]): void {
    this.keys = keys;
  }

  /**
   * The principal of a presented key, or undefined. The key is hashed, then
   * compared with every stored hash in constant time, without stopping at a
   * match: how long this takes says nothing about which hash, or how much of
   * one, matched.
   */
  authenticate(presented: string): Principal | undefined {
    const hash = hashApiKey(presented);
    let found: Principal | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(hash, key.hash) && found === undefined) found = key.principal;
    }
    return found;
  }
}
