/**
 * What a dashboard test needs around the page: the dashboard built from its
 * sources, a static server for it on another origin, and Debian's Chromium
 * (never a downloaded one) driven by playwright-core.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { staticFiles } from "../../../src/observability/static-files.js";

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = "/usr/bin/chromium";
/** Headless, no sandbox (containers), and nothing that would reach the network. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
/** The checkout's root. */
export const REPO = fileURLToPath(new URL("../../..", import.meta.url));

/** Fails with how to install Chromium when it is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: install it with \`apt-get install chromium\` (as root; CI runs .ci/install-browser.sh). The dashboard tests never download a browser.`,
    );
  }
}

/** Chromium with a profile of its own in `userDataDir`. */
export async function launchChromium(userDataDir: string): Promise<BrowserContext> {
  requireChromium();
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  });
}

/** Builds the dashboard with Vite into `outDir` (as `npm run build:dashboard` does into dashboard/dist). */
export async function buildDashboard(outDir: string): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [join(REPO, "node_modules", "vite", "bin", "vite.js"), "build", "--config", join(REPO, "dashboard", "vite.config.ts"), "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
    { cwd: REPO, timeout: 120_000 },
  );
}

/** A static server of the built dashboard on a port of its own: a page hosted elsewhere. */
export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the built dashboard from another origin (another port). */
export async function startStaticServer(root: string): Promise<StaticServer> {
  const serve = staticFiles(root);
  const server: Server = createServer((req, res) => {
    if (!serve(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The bit of the DOM the in-page functions use (the tests compile without the DOM lib). */
export interface PageGlobal {
  readonly document: { querySelector(selector: string): { readonly textContent: string | null; getAttribute(name: string): string | null; readonly hidden?: boolean } | null };
  readonly sessionStorage: { readonly length: number; key(index: number): string | null; getItem(key: string): string | null };
  readonly localStorage: { readonly length: number };
}

/** The trimmed text of the first element with this data-testid ("" when there is none). */
export async function textOf(page: Page, testId: string): Promise<string> {
  return (await page.locator(`[data-testid="${testId}"]`).first().textContent())?.trim() ?? "";
}

/** Waits until the element's trimmed text matches, and returns it. */
export async function waitForText(page: Page, testId: string, pattern: RegExp, timeout = 15_000): Promise<string> {
  const handle = await page.waitForFunction(
    ([id, source, flags]) => {
      const { document } = globalThis as unknown as PageGlobal;
      const text = document.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() ?? "";
      return new RegExp(source!, flags).test(text) ? text : false;
    },
    [testId, pattern.source, pattern.flags] as const,
    { timeout },
  );
  return (await handle.jsonValue()) as string;
}
