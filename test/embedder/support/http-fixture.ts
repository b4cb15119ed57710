/**
 * A tiny HTTP server on 127.0.0.1 for download tests: serves fixed routes,
 * counts requests, and can redirect or fail.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What a route answers. */
export type Route =
  | { readonly body: Buffer | string; readonly status?: number }
  | { readonly redirect: string; readonly status?: number };

/** A running test server. */
export interface TestServer {
  /** e.g. "http://127.0.0.1:12345" */
  readonly baseUrl: string;
  /** Paths requested so far, in order. */
  readonly requests: string[];
  /** Replaces or adds a route. */
  setRoute(path: string, route: Route): void;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts a server on an ephemeral loopback port; unknown paths get 404. */
export async function startServer(routes: Record<string, Route>): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(path);
    const route = table.get(path);
    if (route === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    } else if ("redirect" in route) {
      res.writeHead(route.status ?? 302, { location: route.redirect }).end();
    } else {
      res.writeHead(route.status ?? 200, { "content-type": "application/octet-stream" }).end(route.body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    setRoute: (path, route) => void table.set(path, route),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
