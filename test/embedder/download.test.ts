import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { downloadFile } from "../../src/embedder/download.js";
import { ChecksumMismatchError, ModelLoadError } from "../../src/embedder/errors.js";
import { DEFAULT_ONNX_FILE, downloadDefaultModel } from "../../src/embedder/model-source.js";
import { startServer, type TestServer } from "./support/http-fixture.js";

const REPO_PATH = "/Xenova/all-MiniLM-L6-v2/resolve/main";
const ONNX_ROUTE = `${REPO_PATH}/onnx/model_quantized.onnx`;
const TOKENIZER_ROUTE = `${REPO_PATH}/tokenizer.json`;

const onnxBytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251));
const onnxSha = sha256(onnxBytes);
const tokenizerJson = JSON.stringify({ version: "1.0", model: { type: "WordPiece", vocab: { "[UNK]": 0 } } });

function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Every file under `dir`, relative, sorted; shows leftovers such as temp files. */
async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort();
  } catch {
    return [];
  }
}

describe("model download", () => {
  let server: TestServer;
  let cacheDir: string;

  beforeEach(async () => {
    server = await startServer({
      [ONNX_ROUTE]: { body: onnxBytes },
      [TOKENIZER_ROUTE]: { body: tokenizerJson },
    });
    cacheDir = await mkdtemp(join(tmpdir(), "semcache-dl-"));
  });

  afterEach(async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  const pins = { "onnx/model_quantized.onnx": onnxSha };

  it("downloads into <cacheDir>/<repo>, verifies the checksum and leaves no temp files", async () => {
    const files = await downloadDefaultModel({ cacheDir, downloadBaseUrl: server.baseUrl, expectedSha256: pins });
    const modelDir = join(cacheDir, "Xenova", "all-MiniLM-L6-v2");
    expect(files).toMatchObject({ modelId: "Xenova/all-MiniLM-L6-v2", directory: modelDir, source: "download" });
    expect(files.onnxPath).toBe(join(modelDir, "onnx", "model_quantized.onnx"));
    expect(sha256(await readFile(files.onnxPath))).toBe(onnxSha);
    expect(await readFile(files.tokenizerPath, "utf8")).toBe(tokenizerJson);
    expect(await listFiles(cacheDir)).toEqual([
      "Xenova/all-MiniLM-L6-v2/onnx/model_quantized.onnx",
      "Xenova/all-MiniLM-L6-v2/semcache-model.json",
      "Xenova/all-MiniLM-L6-v2/tokenizer.json",
    ]);
    expect(server.requests).toEqual([ONNX_ROUTE, TOKENIZER_ROUTE]);
  });

  it("uses the cache on a second load without contacting the server", async () => {
    await downloadDefaultModel({ cacheDir, downloadBaseUrl: server.baseUrl, expectedSha256: pins });
    expect(server.requests).toHaveLength(2);
    const again = await downloadDefaultModel({ cacheDir, downloadBaseUrl: server.baseUrl, expectedSha256: pins });
    expect(server.requests).toHaveLength(2);
    expect(sha256(await readFile(again.onnxPath))).toBe(onnxSha);
  });

  it("downloads again when the cached copy no longer matches its checksum", async () => {
    const first = await downloadDefaultModel({ cacheDir, downloadBaseUrl: server.baseUrl, expectedSha256: pins });
    await rm(first.onnxPath);
    await import("node:fs/promises").then((fs) => fs.writeFile(first.onnxPath, "tampered"));
    await downloadDefaultModel({ cacheDir, downloadBaseUrl: server.baseUrl, expectedSha256: pins });
    expect(server.requests).toEqual([ONNX_ROUTE, TOKENIZER_ROUTE, ONNX_ROUTE]);
    expect(sha256(await readFile(first.onnxPath))).toBe(onnxSha);
  });

  it("rejects a corrupted file with a checksum error and leaves nothing in the cache", async () => {
    const corrupted = Buffer.from(onnxBytes);
    corrupted[500] = (corrupted[500]! + 1) % 256;
    server.setRoute(ONNX_ROUTE, { body: corrupted });
    const error = await downloadDefaultModel({
      cacheDir,
      downloadBaseUrl: server.baseUrl,
      expectedSha256: pins,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    const mismatch = error as ChecksumMismatchError;
    expect(mismatch).toBeInstanceOf(ModelLoadError);
    expect(mismatch.file).toBe("onnx/model_quantized.onnx");
    expect(mismatch.expectedSha256).toBe(onnxSha);
    expect(mismatch.actualSha256).toBe(sha256(corrupted));
    expect(mismatch.message).toContain("onnx/model_quantized.onnx");
    expect(mismatch.message).toContain(onnxSha);
    expect(mismatch.message).toContain(sha256(corrupted));
    expect(await listFiles(cacheDir)).toEqual([]);
  });

  it("checks the built-in pin of the real model (hash and size) when no pin is passed", async () => {
    const error = await downloadDefaultModel({ cacheDir, downloadBaseUrl: server.baseUrl }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect((error as ChecksumMismatchError).expectedSha256).toBe(DEFAULT_ONNX_FILE.sha256);
    expect((error as Error).message).toContain("expected 22972370 bytes, got 100000");
    expect(await listFiles(cacheDir)).toEqual([]);
  });

  it("names the URL and the status when the server answers 404", async () => {
    const error = await downloadDefaultModel({
      cacheDir,
      downloadBaseUrl: server.baseUrl,
      revision: "no-such-revision",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    const failure = error as ModelLoadError;
    const url = `${server.baseUrl}/Xenova/all-MiniLM-L6-v2/resolve/no-such-revision/onnx/model_quantized.onnx`;
    expect(failure.url).toBe(url);
    expect(failure.status).toBe(404);
    expect(failure.kind).toBe("download-failed");
    expect(failure.message).toContain(url);
    expect(failure.message).toContain("HTTP 404");
    expect(failure.message).toContain("SEMCACHE_MODEL_DIR");
    expect(failure.message).toContain("SEMCACHE_MODEL_BASE_URL) reachable");
    expect(await listFiles(cacheDir)).toEqual([]);
  });

  it("names the URL when the server cannot be reached", async () => {
    const unreachable = server.baseUrl;
    await server.close();
    server = await startServer({});
    const error = await downloadDefaultModel({ cacheDir, downloadBaseUrl: unreachable }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).message).toContain(`${unreachable}${ONNX_ROUTE}`);
    expect((error as ModelLoadError).message).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it("follows redirects, as Hugging Face sends downloads to a CDN", async () => {
    server.setRoute(ONNX_ROUTE, { redirect: "/cdn/blob-1", status: 302 });
    server.setRoute(TOKENIZER_ROUTE, { redirect: "/cdn/blob-2", status: 307 });
    server.setRoute("/cdn/blob-1", { body: onnxBytes });
    server.setRoute("/cdn/blob-2", { body: tokenizerJson });
    const files = await downloadDefaultModel({ cacheDir, downloadBaseUrl: server.baseUrl, expectedSha256: pins });
    expect(sha256(await readFile(files.onnxPath))).toBe(onnxSha);
    expect(server.requests).toEqual([ONNX_ROUTE, "/cdn/blob-1", TOKENIZER_ROUTE, "/cdn/blob-2"]);
  });

  it("rejects a tokenizer.json that is not JSON with a model field, leaving no file", async () => {
    server.setRoute(TOKENIZER_ROUTE, { body: "<html>rate limited</html>" });
    const error = await downloadDefaultModel({
      cacheDir,
      downloadBaseUrl: server.baseUrl,
      expectedSha256: pins,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toContain(`${server.baseUrl}${TOKENIZER_ROUTE}`);
    expect((error as Error).message).toContain("not valid JSON");
    expect(await listFiles(cacheDir)).toEqual(["Xenova/all-MiniLM-L6-v2/onnx/model_quantized.onnx"]);

    server.setRoute(TOKENIZER_ROUTE, { body: JSON.stringify({ version: "1.0" }) });
    const second = await downloadDefaultModel({
      cacheDir,
      downloadBaseUrl: server.baseUrl,
      expectedSha256: pins,
    }).catch((e: unknown) => e);
    expect((second as Error).message).toContain('without a "model" field');
  });

  it("honours a caller's pin for tokenizer.json", async () => {
    const error = await downloadDefaultModel({
      cacheDir,
      downloadBaseUrl: server.baseUrl,
      expectedSha256: { ...pins, "tokenizer.json": "0".repeat(64) },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect((error as ChecksumMismatchError).file).toBe("tokenizer.json");
    expect((error as ChecksumMismatchError).actualSha256).toBe(sha256(tokenizerJson));
  });

  it("downloadFile replaces an existing destination only after verification", async () => {
    const destination = join(cacheDir, "sub", "file.bin");
    await downloadFile({
      url: `${server.baseUrl}${ONNX_ROUTE}`,
      destination,
      label: "file.bin",
      sha256: onnxSha,
      size: onnxBytes.length,
    });
    expect(sha256(await readFile(destination))).toBe(onnxSha);
    const error = await downloadFile({
      url: `${server.baseUrl}${TOKENIZER_ROUTE}`,
      destination,
      label: "file.bin",
      sha256: onnxSha,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect(sha256(await readFile(destination))).toBe(onnxSha);
    expect(await listFiles(cacheDir)).toEqual(["sub/file.bin"]);
  });
});
