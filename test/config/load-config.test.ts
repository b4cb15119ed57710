import { writeFileSync, rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load-config.js";

const emptyDir = mkdtempSync(join(tmpdir(), "semcache-config-"));

describe("loadConfig", () => {
  it("has defaults", () => {
    const config = loadConfig({ env: {}, argv: [], cwd: emptyDir });
    expect(config.port).toBe(8080);
    expect(config.dataDir).toBe("./data");
    expect(config.threshold).toBe(0.9);
    expect(config.redisUrl).toBeUndefined();
    expect(config.maxPromptBytes).toBe(65536);
  });

  it("lets flags win over the environment, and the environment over .env", () => {
    const dir = mkdtempSync(join(tmpdir(), "semcache-config-"));
    writeFileSync(join(dir, ".env"), "SEMCACHE_PORT=7000\nSEMCACHE_THRESHOLD=0.8\nSEMCACHE_DATA_DIR=/from/dotenv\n");
    const config = loadConfig({ env: { SEMCACHE_THRESHOLD: "0.85" }, argv: ["--port", "9000", "--data-dir=/from/flag"], cwd: dir });
    expect(config.port).toBe(9000);
    expect(config.threshold).toBe(0.85);
    expect(config.dataDir).toBe("/from/flag");
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports every bad setting by name", () => {
    const attempt = (): unknown =>
      loadConfig({ env: { SEMCACHE_PORT: "http", SEMCACHE_THRESHOLD: "0", SEMCACHE_REDIS_URL: "localhost:6379" }, argv: ["--bogus", "1"], cwd: emptyDir });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("SEMCACHE_PORT");
      expect(message).toContain("SEMCACHE_THRESHOLD");
      expect(message).toContain("SEMCACHE_REDIS_URL");
      expect(message).toContain("--bogus");
    }
  });
});
