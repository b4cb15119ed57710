import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import * as ort from "onnxruntime-node";
import type { onnx } from "onnx-proto";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureFixtureModel, FIXTURE_FILES, readFixtureStamp } from "../tools/fixture-model/index.js";

/** The part of @huggingface/tokenizers used here (its .d.ts do not resolve under NodeNext). */
interface HfTokenizer {
  encode(
    text: string,
    options?: { text_pair?: string; add_special_tokens?: boolean; return_token_type_ids?: boolean },
  ): { ids: number[]; tokens: string[]; attention_mask: number[]; token_type_ids?: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
}
const TokenizerClass = Tokenizer as unknown as new (json: object, config: object) => HfTokenizer;

let dir: string;
let session: ort.InferenceSession;
let tokenizer: HfTokenizer;
let scratch: string;

beforeAll(async () => {
  dir = await ensureFixtureModel();
  scratch = await mkdtemp(join(tmpdir(), "fixture-model-test-"));
  session = await ort.InferenceSession.create(join(dir, FIXTURE_FILES.model), { logSeverityLevel: 3 });
  const json = JSON.parse(await readFile(join(dir, FIXTURE_FILES.tokenizer), "utf8")) as object;
  const config = JSON.parse(await readFile(join(dir, FIXTURE_FILES.tokenizerConfig), "utf8")) as object;
  tokenizer = new TokenizerClass(json, config);
}, 300_000);

afterAll(async () => {
  await session?.release();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Tokenises `texts`, pads them to one length with [PAD] = 0, and runs the model. */
async function run(texts: readonly string[]): Promise<{ output: ort.Tensor; mask: BigInt64Array; length: number }> {
  const encoded = texts.map((t) => tokenizer.encode(t).ids);
  const length = Math.max(...encoded.map((ids) => ids.length));
  const ids = new BigInt64Array(texts.length * length);
  const mask = new BigInt64Array(texts.length * length);
  for (const [b, row] of encoded.entries()) {
    for (const [t, id] of row.entries()) {
      ids[b * length + t] = BigInt(id);
      mask[b * length + t] = 1n;
    }
  }
  const dims = [texts.length, length];
  const result = await session.run({
    input_ids: new ort.Tensor("int64", ids, dims),
    attention_mask: new ort.Tensor("int64", mask, dims),
    token_type_ids: new ort.Tensor("int64", new BigInt64Array(ids.length), dims),
  });
  const output = result["last_hidden_state"];
  if (!output) throw new Error("no last_hidden_state");
  return { output, mask, length };
}

/** Mean pooling over the attention mask, then L2 normalisation (what the embedder does). */
function pool(output: ort.Tensor, mask: BigInt64Array, length: number): Float32Array[] {
  const [batch, , hidden] = output.dims as [number, number, number];
  const data = output.data as Float32Array;
  const vectors: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const v = new Float32Array(hidden);
    let count = 0;
    for (let t = 0; t < length; t++) {
      if (mask[b * length + t] !== 1n) continue;
      count += 1;
      for (let i = 0; i < hidden; i++) v[i]! += data[(b * length + t) * hidden + i]!;
    }
    let norm = 0;
    for (let i = 0; i < hidden; i++) norm += (v[i]! / count) ** 2;
    norm = Math.sqrt(norm);
    vectors.push(v.map((x) => x / count / norm));
  }
  return vectors;
}

async function embed(texts: readonly string[]): Promise<Float32Array[]> {
  const { output, mask, length } = await run(texts);
  return pool(output, mask, length);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

describe("fixture model", () => {
  it("holds model.onnx and tokenizer.json", async () => {
    const files = await readdir(dir);
    expect(files).toEqual(expect.arrayContaining(["model.onnx", "tokenizer.json"]));
    expect(files.some((f) => f.includes(".tmp-") || f.includes(".old-"))).toBe(false);
  });

  it("has all-MiniLM-L6-v2's inputs and output", () => {
    expect(session.inputNames).toEqual(["input_ids", "attention_mask", "token_type_ids"]);
    expect(session.outputNames).toEqual(["last_hidden_state"]);
    for (const meta of session.inputMetadata) {
      expect(meta.isTensor).toBe(true);
      if (!meta.isTensor) continue;
      expect(meta.type).toBe("int64");
      expect(meta.shape).toHaveLength(2);
      expect(meta.shape.every((d) => typeof d === "string")).toBe(true); // dynamic batch and sequence
    }
    const out = session.outputMetadata[0];
    expect(out?.isTensor).toBe(true);
    if (out?.isTensor) {
      expect(out.type).toBe("float32");
      expect(out.shape).toHaveLength(3);
      expect(out.shape[2]).toBe(384);
    }
  });

  it("runs a padded batch of two and returns finite [2, T, 384] values", async () => {
    const texts = ["Hi!", "What is the capital of France? I would like to know it precisely."];
    const { output, mask, length } = await run(texts);
    expect(output.type).toBe("float32");
    expect(output.dims).toEqual([2, length, 384]);
    const data = output.data as Float32Array;
    expect(data.every((x) => Number.isFinite(x))).toBe(true);
    expect(data.some((x) => x !== 0)).toBe(true);
    expect(mask.filter((m) => m === 0n).length).toBeGreaterThan(0); // the first row really is padded
    // Padding must not change a sentence's pooled embedding.
    const [shortInBatch] = pool(output, mask, length);
    const [shortAlone] = await embed([texts[0]!]);
    expect(cosine(shortInBatch!, shortAlone!)).toBeCloseTo(1, 5);
  });

  it("gives paraphrases high and unrelated prompts low similarity", async () => {
    const [question, paraphrase, unrelated] = await embed([
      "What is the capital of France?",
      "Tell me the capital city of France.",
      "How do I bake sourdough bread?",
    ]);
    const para = cosine(question!, paraphrase!);
    const other = cosine(question!, unrelated!);
    expect(para).toBeGreaterThan(0.9);
    expect(other).toBeLessThan(0.6);
    const [a, b] = await embed(["How do I reset my password?", "I forgot my password, how can I reset it?"]);
    expect(cosine(a!, b!)).toBeGreaterThan(0.85);
  });

  it("tokenizes like BERT uncased", () => {
    const hello = tokenizer.encode("Hello, World!");
    expect(hello.ids).toEqual([101, 7592, 1010, 2088, 999, 102]);
    expect(hello.tokens).toEqual(["[CLS]", "hello", ",", "world", "!", "[SEP]"]);
    expect(hello.attention_mask).toEqual([1, 1, 1, 1, 1, 1]);
    expect(tokenizer.encode("unaffable").tokens).toEqual(["[CLS]", "una", "##ffa", "##ble", "[SEP]"]);
    expect(tokenizer.encode("Café NAÏVE").tokens).toEqual(["[CLS]", "cafe", "naive", "[SEP]"]);
    expect(tokenizer.encode("東京").tokens).toEqual(["[CLS]", "東", "京", "[SEP]"]);
    expect(tokenizer.encode("🙂").ids).toEqual([101, 100, 102]);
    expect(tokenizer.encode("hello", { add_special_tokens: false }).ids).toEqual([7592]);
    const pair = tokenizer.encode("a b", { text_pair: "c", return_token_type_ids: true });
    expect(pair.tokens).toEqual(["[CLS]", "a", "b", "[SEP]", "c", "[SEP]"]);
    expect(pair.token_type_ids).toEqual([0, 0, 0, 0, 1, 1]);
    expect(tokenizer.decode(tokenizer.encode("Hello, world!").ids, { skip_special_tokens: true })).toBe("hello, world!");
  });

  it("writes a tokenizer.json with BERT's components and no truncation or padding", async () => {
    const json = JSON.parse(await readFile(join(dir, FIXTURE_FILES.tokenizer), "utf8")) as Record<string, unknown>;
    expect(json["truncation"]).toBeNull();
    expect(json["padding"]).toBeNull();
    expect(json["normalizer"]).toMatchObject({ type: "BertNormalizer", lowercase: true, clean_text: true });
    expect(json["pre_tokenizer"]).toEqual({ type: "BertPreTokenizer" });
    expect(json["model"]).toMatchObject({ type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##" });
    const vocab = (json["model"] as { vocab: Record<string, number> }).vocab;
    expect(Object.keys(vocab)).toHaveLength(30522);
    expect(vocab["[unused0]"]).toBe(1);
    expect(vocab["##s"]).toBe(2015);
  });

  it("keeps the transformer after onnxruntime's graph optimisations", async () => {
    // The transformer's output is multiplied by 0; if onnxruntime proved that
    // branch dead it would drop it and the fixture would cost nothing to run.
    const optimized = join(scratch, "optimized.onnx");
    const s = await ort.InferenceSession.create(join(dir, FIXTURE_FILES.model), {
      graphOptimizationLevel: "extended",
      optimizedModelFilePath: optimized,
      logSeverityLevel: 3,
    });
    await s.release();
    const model: onnx.IModelProto = onnxProto.onnx.ModelProto.decode(await readFile(optimized));
    const ops = (model.graph?.node ?? []).map((n) => n.opType ?? "");
    const attention = ops.filter((op) => /Softmax|Attention/.test(op)).length;
    const matmuls = ops.filter((op) => /MatMul|Gemm|Attention/.test(op)).length;
    expect(attention).toBeGreaterThanOrEqual(6);
    expect(matmuls).toBeGreaterThanOrEqual(6 * 4);
  });

  it("builds atomically, once, for concurrent callers, past a dead builder's leftovers", async () => {
    const target = join(scratch, "model");
    // A process that has exited: its lock and temporary directory are stale.
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    expect(dead).toBeGreaterThan(0);
    await writeFile(`${target}.lock`, `${dead}\n`);
    await mkdir(`${target}.tmp-${dead}-deadbeef`);
    await writeFile(join(`${target}.tmp-${dead}-deadbeef`, "model.onnx"), "half-written");

    const [first, second] = await Promise.all([ensureFixtureModel(target), ensureFixtureModel(target)]);
    expect(first).toBe(target);
    expect(second).toBe(target);
    // No lock, temporary or set-aside directory is left behind.
    expect((await readdir(scratch)).filter((f) => f.startsWith("model"))).toEqual(["model"]);
    // Deterministic: same bytes as the shared build.
    expect((await readFixtureStamp(target)).report.modelSha256).toBe((await readFixtureStamp(dir)).report.modelSha256);
  }, 300_000);
});
