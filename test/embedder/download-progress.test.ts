/**
 * Download progress: every model file reports its bytes as they arrive,
 * from 0 to the whole file, against the file's known size (the pinned one,
 * else the server's Content-Length); a cached model reports nothing.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadDefaultModel, type ModelDownloadProgress } from "../../src/embedder/model-source.js";
import { fixtureModelDir } from "../support/fixture-model.js";
import { startServer, type TestServer } from "./support/http-fixture.js";

const REPO_PATH = "/Xenova/all-MiniLM-L6-v2/resolve/main";

describe("model download progress", () => {
  let server: TestServer;
  let cacheDir: string;
  let onnx: Buffer;
  let tokenizer: Buffer;

  beforeAll(async () => {
    const modelDir = await fixtureModelDir();
    onnx = await readFile(join(modelDir, "model.onnx"));
    tokenizer = await readFile(join(modelDir, "tokenizer.json"));
    server = await startServer({
      [`${REPO_PATH}/onnx/model_quantized.onnx`]: { body: onnx },
      [`${REPO_PATH}/tokenizer.json`]: { body: tokenizer },
    });
    cacheDir = await mkdtemp(join(tmpdir(), "semcache-progress-"));
  });
  afterAll(async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  const options = (events: ModelDownloadProgress[]) => ({
    cacheDir,
    downloadBaseUrl: server.baseUrl,
    expectedSha256: { "onnx/model_quantized.onnx": createHash("sha256").update(onnx).digest("hex") },
    onDownloadProgress: (progress: ModelDownloadProgress) => events.push(progress),
  });

  it("reports each file from 0 to its size, in order", async () => {
    const events: ModelDownloadProgress[] = [];
    await downloadDefaultModel(options(events));
    for (const [file, bytes] of [["onnx/model_quantized.onnx", onnx], ["tokenizer.json", tokenizer]] as const) {
      const mine = events.filter((event) => event.file === file);
      expect(mine.length, file).toBeGreaterThanOrEqual(2);
      expect(mine[0]).toMatchObject({ receivedBytes: 0, model: "Xenova/all-MiniLM-L6-v2", url: `${server.baseUrl}${REPO_PATH}/${file}` });
      expect(mine.at(-1)?.receivedBytes).toBe(bytes.length);
      // The replaced pin drops the built-in size, and this server sends no Content-Length (chunked): no total.
      for (const event of mine) expect(event.totalBytes).toBeUndefined();
      const received = mine.map((event) => event.receivedBytes);
      expect([...received].sort((a, b) => a - b)).toEqual(received);
    }
  });

  it("takes the total from Content-Length when the server sends it", async () => {
    const sized = createServer((req, res) => {
      const body = (req.url ?? "").endsWith("tokenizer.json") ? tokenizer : onnx;
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    await new Promise<void>((resolve) => sized.listen(0, "127.0.0.1", resolve));
    const dir = await mkdtemp(join(tmpdir(), "semcache-progress-sized-"));
    try {
      const events: ModelDownloadProgress[] = [];
      await downloadDefaultModel({ ...options(events), cacheDir: dir, downloadBaseUrl: `http://127.0.0.1:${(sized.address() as AddressInfo).port}` });
      const last = events.filter((event) => event.file === "tokenizer.json").at(-1);
      expect(last).toMatchObject({ receivedBytes: tokenizer.length, totalBytes: tokenizer.length });
    } finally {
      sized.closeAllConnections();
      await new Promise<void>((resolve) => sized.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports nothing when the model is already cached", async () => {
    const events: ModelDownloadProgress[] = [];
    await downloadDefaultModel(options(events));
    expect(events).toEqual([]);
  });
});
