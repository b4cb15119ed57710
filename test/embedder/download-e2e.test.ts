import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import { fixtureModelDir } from "../support/fixture-model.js";
import { startServer, type TestServer } from "./support/http-fixture.js";

const REPO_PATH = "/Xenova/all-MiniLM-L6-v2/resolve/main";

describe("loadOnnxEmbedder with a download", () => {
  let server: TestServer;
  let cacheDir: string;
  let modelDir: string;
  let onnxSha: string;

  beforeAll(async () => {
    modelDir = await fixtureModelDir();
    const onnx = await readFile(join(modelDir, "model.onnx"));
    onnxSha = createHash("sha256").update(onnx).digest("hex");
    // Shaped like Hugging Face: the resolve URL redirects to a content URL.
    server = await startServer({
      [`${REPO_PATH}/onnx/model_quantized.onnx`]: { redirect: "/cdn/model" },
      "/cdn/model": { body: onnx },
      [`${REPO_PATH}/tokenizer.json`]: { body: await readFile(join(modelDir, "tokenizer.json")) },
    });
    cacheDir = await mkdtemp(join(tmpdir(), "semcache-e2e-"));
  });

  afterAll(async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("downloads on first use, then loads from the cache without the server", async () => {
    const options = {
      cacheDir,
      downloadBaseUrl: `${server.baseUrl}/`,
      expectedSha256: { "onnx/model_quantized.onnx": onnxSha },
      threads: 1,
    };
    const first = await loadOnnxEmbedder(options);
    expect(first.modelId).toBe("Xenova/all-MiniLM-L6-v2");
    const fromDownload = await first.embed("What is the capital of France?");
    await first.close();
    expect(server.requests).toHaveLength(3);

    const second = await loadOnnxEmbedder(options);
    expect(server.requests).toHaveLength(3);
    await second.close();

    // The cache directory is itself a valid SEMCACHE_MODEL_DIR with the same id.
    const direct = await loadOnnxEmbedder({ modelDir: join(cacheDir, "Xenova", "all-MiniLM-L6-v2"), threads: 1 });
    expect(direct.modelId).toBe("Xenova/all-MiniLM-L6-v2");
    expect(Array.from(await direct.embed("What is the capital of France?"))).toEqual(Array.from(fromDownload));
    await direct.close();
  });
});
