/** Fleet links to a test Redis, opened and closed by the tests that use them. */
import { RedisConnection, type StoreConnection } from "../../../src/store/redis/connection.js";
import { FleetLink } from "../../../src/fleet/fleet-link.js";

/** A link over a freshly opened connection (waits until it is up). */
export async function openLink(url: string, keyPrefix: string, commandTimeoutMs = 500): Promise<FleetLink> {
  const connection = await RedisConnection.open({
    url,
    commandTimeoutMs,
    connectTimeoutMs: 1000,
    startupTimeoutMs: 5000,
    maxReconnectDelayMs: 200,
    onError: () => undefined,
  });
  return FleetLink.over(connection, keyPrefix);
}

/** The link's connection; throws when it has none (a link from `openLink` always has one). */
export function connected(link: FleetLink): StoreConnection {
  const connection = link.connection;
  if (connection === undefined) throw new Error("the fleet link has no connection");
  return connection;
}
