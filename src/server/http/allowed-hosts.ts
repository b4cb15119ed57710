import { isIP } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Admit } from "./edge-options.js";
import type { AnyRequest } from "./request-handler.js";

/**
 * The host names a server without API keys answers for. Without keys, the
 * only thing between a web page and the cache is that the page cannot reach
 * it; DNS rebinding undoes that (the attacker's name resolves to 127.0.0.1,
 * and the browser sends the page's requests with `Host: attacker.example`).
 * A server that only answers its own names refuses those requests.
 */
export class AllowedHosts {
  private readonly names: ReadonlySet<string>;
  private readonly any: boolean;

  /**
   * @param bindHost the address the server listens on (SEMCACHE_HOST), always allowed
   * @param extra more names (SEMCACHE_ALLOWED_HOSTS); `*` allows any
   */
  constructor(bindHost: string, extra: readonly string[]) {
    this.any = extra.includes("*");
    this.names = new Set([bindHost, ...extra].map((name) => normalise(name)));
  }

  /** Whether a Host header / :authority value (`name`, `name:port`, `[v6]:port`) names this server. */
  allows(authority: string | undefined): boolean {
    if (this.any) return true;
    if (authority === undefined || authority === "") return false;
    const name = hostOf(authority);
    if (name === undefined) return false;
    return isLoopback(name) || this.names.has(name);
  }
}

/** Lower case, without a trailing dot or IPv6 brackets. */
function normalise(name: string): string {
  let host = name.trim().toLowerCase();
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return host;
}

/** The host part of an authority, normalised; undefined when it does not parse. */
function hostOf(authority: string): string | undefined {
  if (!URL.canParse(`http://${authority}/`)) return undefined;
  return normalise(new URL(`http://${authority}/`).hostname);
}

/** localhost (and its subdomains, RFC 6761), 127.0.0.0/8, ::1. */
function isLoopback(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1";
  return false;
}

/** The Host (HTTP/1.1) or :authority (HTTP/2) of a request. */
export function authorityOf(req: AnyRequest): string | undefined {
  return "authority" in req ? req.authority : req.headers.host;
}

/**
 * Admits only requests addressed to one of `hosts`; others are refused with
 * PERMISSION_DENIED (403), naming the setting that would allow them.
 */
export function admitAllowedHosts(hosts: AllowedHosts): Admit {
  return (req) => {
    const authority = authorityOf(req);
    if (hosts.allows(authority)) return {};
    const shown = JSON.stringify((authority ?? "").slice(0, 100));
    const message = `this server has no API keys and answers only for its own host names, not ${shown}; add it to SEMCACHE_ALLOWED_HOSTS (or turn on API keys)`;
    return { refusal: new ConnectError(message, Code.PermissionDenied) };
  };
}
