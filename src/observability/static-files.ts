/**
 * Serves the dashboard's built files (dashboard/dist, made by
 * `npm run build:dashboard`) from the server's own port: GET and HEAD only,
 * known file types only, nothing outside the directory. Vite's hashed
 * /assets/* are cached for a year (immutable); everything else is
 * revalidated (ETag), so a rebuilt dashboard shows at the next load.
 */
import { existsSync, readFileSync, statSync, type Stats } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { ServerResponse } from "node:http";
import type { AnyRequest, AnyResponse } from "../server/http/request-handler.js";

/** Content types of the files a Vite build produces. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt"]);
const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";

/** dashboard/dist of the checkout or install this module belongs to (src/ or dist/ alike). */
export function defaultDashboardDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "dashboard", "dist");
    const parent = dirname(dir);
    if (parent === dir) return resolve("dashboard", "dist");
    dir = parent;
  }
}

interface Cached {
  readonly mtimeMs: number;
  readonly size: number;
  readonly body: Buffer;
  readonly gzipped: Buffer | undefined;
}

function extensionOf(path: string): string {
  const dot = path.lastIndexOf(".");
  return dot > path.lastIndexOf("/") ? path.slice(dot).toLowerCase() : "";
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>semcache</title>
<p>The semcache dashboard is not built. Run <code>npm run build:dashboard</code> and reload.</p>
<p>The API is served on this port all the same; metrics are at <a href="/metrics">/metrics</a>.</p>`;

/** A route serving the files under `root`; returns false for paths that are not one of them. */
export function staticFiles(root: string): (req: AnyRequest, res: AnyResponse) => boolean {
  const base = resolve(root);
  const cache = new Map<string, Cached>();

  const load = (file: string, mtimeMs: number, size: number, compressible: boolean): Cached => {
    const hit = cache.get(file);
    if (hit !== undefined && hit.mtimeMs === mtimeMs && hit.size === size) return hit;
    const body = readFileSync(file);
    const gzipped = compressible && body.length > 1024 ? gzipSync(body) : undefined;
    const entry = { mtimeMs, size, body, gzipped };
    cache.set(file, entry);
    return entry;
  };

  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    let path: string;
    try {
      path = decodeURIComponent((req.url ?? "/").split("?", 1)[0]!);
    } catch {
      return false;
    }
    if (path === "/") path = "/index.html";
    const extension = extensionOf(path);
    const type = CONTENT_TYPES[extension];
    if (type === undefined || path.includes("\0") || path.split("/").includes("..")) return false;
    const file = resolve(base, `.${path}`);
    if (!file.startsWith(base + sep)) return false;
    let stat: Stats | undefined;
    try {
      stat = statSync(file);
    } catch {
      stat = undefined;
    }
    const response = res as ServerResponse;
    if (stat === undefined || !stat.isFile()) {
      if (path !== "/index.html") return false;
      response.writeHead(404, { "content-type": CONTENT_TYPES[".html"]!, "cache-control": REVALIDATE });
      response.end(req.method === "HEAD" ? undefined : NOT_BUILT);
      return true;
    }

    const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const vary = [response.getHeader("vary"), "Accept-Encoding"].filter((v) => v !== undefined).join(", ");
    const headers: Record<string, string | number> = {
      "content-type": type,
      "cache-control": path.startsWith("/assets/") ? IMMUTABLE : REVALIDATE,
      etag,
      vary,
      "x-content-type-options": "nosniff",
    };
    if (req.headers["if-none-match"] === etag) {
      response.writeHead(304, headers);
      response.end();
      return true;
    }
    let entry: Cached;
    try {
      entry = load(file, stat.mtimeMs, stat.size, COMPRESSIBLE.has(extension));
    } catch {
      response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      response.end("could not read the file");
      return true;
    }
    const gzip = entry.gzipped !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    const body = gzip ? entry.gzipped! : entry.body;
    if (gzip) headers["content-encoding"] = "gzip";
    headers["content-length"] = body.length;
    response.writeHead(200, headers);
    response.end(req.method === "HEAD" ? undefined : body);
    return true;
  };
}
