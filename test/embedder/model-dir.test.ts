import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelLoadError } from "../../src/embedder/errors.js";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import { findModelInDirectory } from "../../src/embedder/model-source.js";

describe("model directory", () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "semcache-dir-"));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function expectLoadError(promise: Promise<unknown>): Promise<ModelLoadError> {
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    const failure = error as ModelLoadError;
    expect(failure.message).toContain("SEMCACHE_MODEL_DIR");
    expect(failure.message).toContain("SEMCACHE_MODEL_BASE_URL) reachable");
    return failure;
  }

  it("names a missing directory", async () => {
    const dir = join(root, "nope");
    const error = await expectLoadError(loadOnnxEmbedder({ modelDir: dir }));
    expect(error.kind).toBe("missing-directory");
    expect(error.path).toBe(dir);
    expect(error.message).toContain(dir);
  });

  it("names a path that is a file, not a directory", async () => {
    const file = join(root, "file");
    await writeFile(file, "x");
    const error = await expectLoadError(findModelInDirectory(file));
    expect(error.message).toContain(`${file} is not a directory`);
  });

  it("names the missing tokenizer.json", async () => {
    await writeFile(join(root, "model.onnx"), "not really");
    const error = await expectLoadError(loadOnnxEmbedder({ modelDir: root }));
    expect(error.kind).toBe("missing-file");
    expect(error.path).toBe(join(root, "tokenizer.json"));
    expect(error.message).toContain(root);
    expect(error.message).toContain("tokenizer.json");
  });

  it("names the ONNX files it looked for", async () => {
    await writeFile(join(root, "tokenizer.json"), "{}");
    const error = await expectLoadError(findModelInDirectory(root));
    expect(error.kind).toBe("missing-file");
    expect(error.message).toContain(root);
    expect(error.message).toContain("model.onnx, model_quantized.onnx, onnx/model.onnx, onnx/model_quantized.onnx");
  });

  it("accepts each ONNX layout, preferring model.onnx, and derives the id from the directory name", async () => {
    const dir = join(root, "my-minilm");
    await mkdir(join(dir, "onnx"), { recursive: true });
    await writeFile(join(dir, "tokenizer.json"), "{}");
    await writeFile(join(dir, "onnx", "model_quantized.onnx"), "q");
    expect((await findModelInDirectory(dir)).onnxPath).toBe(join(dir, "onnx", "model_quantized.onnx"));
    await writeFile(join(dir, "onnx", "model.onnx"), "f");
    expect((await findModelInDirectory(dir)).onnxPath).toBe(join(dir, "onnx", "model.onnx"));
    await writeFile(join(dir, "model_quantized.onnx"), "q");
    expect((await findModelInDirectory(dir)).onnxPath).toBe(join(dir, "model_quantized.onnx"));
    await writeFile(join(dir, "model.onnx"), "f");
    const files = await findModelInDirectory(dir);
    expect(files).toMatchObject({ onnxPath: join(dir, "model.onnx"), modelId: "my-minilm", source: "directory" });
    expect((await findModelInDirectory(dir, "explicit/id")).modelId).toBe("explicit/id");
  });

  it("takes the model id and ONNX file from semcache-model.json", async () => {
    await mkdir(join(root, "onnx"));
    await writeFile(join(root, "tokenizer.json"), "{}");
    await writeFile(join(root, "model.onnx"), "f");
    await writeFile(join(root, "onnx", "model_quantized.onnx"), "q");
    await writeFile(
      join(root, "semcache-model.json"),
      JSON.stringify({ modelId: "Xenova/all-MiniLM-L6-v2", onnx: "onnx/model_quantized.onnx" }),
    );
    const files = await findModelInDirectory(root);
    expect(files.modelId).toBe("Xenova/all-MiniLM-L6-v2");
    expect(files.onnxPath).toBe(join(root, "onnx", "model_quantized.onnx"));
  });

  it("reports an ONNX file that onnxruntime cannot open", async () => {
    await writeFile(join(root, "model.onnx"), "definitely not protobuf");
    await writeFile(
      join(root, "tokenizer.json"),
      JSON.stringify({
        model: { type: "WordPiece", vocab: { "[UNK]": 0, "[CLS]": 1, "[SEP]": 2, hello: 3 }, unk_token: "[UNK]" },
      }),
    );
    const error = await expectLoadError(loadOnnxEmbedder({ modelDir: root }));
    expect(error.path).toBe(join(root, "model.onnx"));
    expect(error.message).toContain("Could not load the ONNX model");
  });
});
