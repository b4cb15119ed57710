/**
 * Claims on a key in Redis: who in the fleet is answering it right now.
 *
 * A claim is `SET key token NX PX lease`: at most one holder, and it lapses
 * by itself `lease` ms after its last renewal, so a replica that crashed (or
 * hangs) mid-call blocks the others for one lease at most. The holder renews
 * it while it works and deletes it when done; renewal and deletion compare
 * the token first, so a holder whose claim lapsed never touches its
 * successor's.
 */
import type { FleetLink } from "./fleet-link.js";
import { luaScript } from "./lua.js";

/** KEYS[1]: the claim. ARGV[1]: the holder's token, ARGV[2]: the lease (ms). 1 when renewed, 0 when it is no longer ours. */
const RENEW = luaScript(
  "fleet-claim-renew",
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
);

/** KEYS[1]: the claim. ARGV[1]: the holder's token. 1 when released, 0 when it was no longer ours. */
const RELEASE = luaScript(
  "fleet-claim-release",
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
);

/** Claims over one fleet link; throws what the connection throws (StoreUnavailableError when Redis is away or slow). */
export class Claims {
  constructor(private readonly link: FleetLink) {}

  /** Takes the claim on `name` for `leaseMs` unless someone holds it; true when taken. */
  async take(name: string, token: string, leaseMs: number): Promise<boolean> {
    const reply = await this.connection().command<string | null>(["SET", this.link.key("claim", name), token, "NX", "PX", String(leaseMs)]);
    return reply === "OK";
  }

  /** Extends our claim on `name` by `leaseMs` from now; false when it is no longer ours. */
  async renew(name: string, token: string, leaseMs: number): Promise<boolean> {
    return (await this.connection().script<number>(RENEW, [this.link.key("claim", name)], [token, String(leaseMs)])) === 1;
  }

  /** Deletes our claim on `name`; false when it was no longer ours. */
  async release(name: string, token: string): Promise<boolean> {
    return (await this.connection().script<number>(RELEASE, [this.link.key("claim", name)], [token])) === 1;
  }

  private connection() {
    const connection = this.link.connection;
    if (connection === undefined) throw new FleetNotConnectedError();
    return connection;
  }
}

/** The fleet link has not connected yet: the replica acts alone meanwhile. */
export class FleetNotConnectedError extends Error {
  override readonly name = "FleetNotConnectedError";
  constructor() {
    super("the fleet's Redis connection is not up yet");
  }
}
