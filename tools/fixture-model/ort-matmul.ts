/**
 * Dense float32 matrix product computed by onnxruntime. The word-vector
 * projection is ~1e9 multiply-adds: several seconds in a JS loop (and over
 * 15 s on a busy 2-core machine), ~20 ms in onnxruntime's GEMM.
 */
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "./onnx-builder.js";

/** Returns the row-major [m, n] product of row-major a [m, k] and b [k, n]. */
export async function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<Float32Array> {
  if (a.length !== m * k || b.length !== k * n) throw new Error(`matmul: sizes do not match [${m},${k}]x[${k},${n}]`);
  const g = new GraphBuilder("matmul");
  const left = g.input("a", "float32", ["m", k]);
  const right = g.input("b", "float32", [k, n]);
  g.output(g.node("MatMul", [left, right], [], "product"), "float32", ["m", n]);
  const session = await ort.InferenceSession.create(
    g.encode({ opset: 17, irVersion: 8, producerName: "semcache-fixture-model", producerVersion: "1" }),
    { logSeverityLevel: 3 },
  );
  try {
    const result = await session.run({ a: new ort.Tensor("float32", a, [m, k]), b: new ort.Tensor("float32", b, [k, n]) });
    const product = result["product"];
    if (!product || !(product.data instanceof Float32Array)) throw new Error("matmul: no float32 output");
    return product.data;
  } finally {
    await session.release();
  }
}
