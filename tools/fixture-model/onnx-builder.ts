/**
 * A small typed front end to npm `onnx-proto` for writing inference graphs:
 * unique value names, raw little-endian initializers, and ModelProto
 * encoding. It knows nothing about BERT.
 */
import type { onnx } from "onnx-proto";
import onnxProto from "onnx-proto";

// onnx-proto is CommonJS with a protobufjs root object; Node's ESM loader
// only exposes it as the default export.
const { ModelProto, TensorProto, AttributeProto } = onnxProto.onnx;

/** ONNX element type of a graph value or initializer. */
export type ElemType = "float32" | "int64";

/** A tensor dimension: a fixed size, or a symbolic name for a dynamic one. */
export type Dim = number | string;

const DATA_TYPE: Record<ElemType, onnx.TensorProto.DataType> = {
  float32: TensorProto.DataType.FLOAT,
  int64: TensorProto.DataType.INT64,
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of `data` in little-endian order, as TensorProto.raw_data requires. */
export function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) {
    for (const [i, x] of data.entries()) view.setFloat32(i * 4, x, true);
  } else {
    for (const [i, x] of data.entries()) view.setBigInt64(i * 8, x, true);
  }
  return out;
}

/** An int attribute (axis, perm entry, cast target...). */
export function intAttr(name: string, value: number): onnx.IAttributeProto {
  return { name, type: AttributeProto.AttributeType.INT, i: value };
}

/** A float attribute (epsilon, alpha...). */
export function floatAttr(name: string, value: number): onnx.IAttributeProto {
  return { name, type: AttributeProto.AttributeType.FLOAT, f: value };
}

/** An ints attribute (perm, axes before opset 13...). */
export function intsAttr(name: string, values: readonly number[]): onnx.IAttributeProto {
  return { name, type: AttributeProto.AttributeType.INTS, ints: [...values] };
}

function valueInfo(name: string, elemType: ElemType, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[elemType],
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Options for the encoded model's header. */
export interface ModelOptions {
  /** Version of the default ("ai.onnx") operator set. */
  opset: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
}

/** Accumulates one graph's nodes, initializers, inputs and outputs. */
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly usedNames = new Set<string>();
  private counter = 0;

  constructor(private readonly name: string) {}

  /** Total bytes of initializer data so far (for build reports). */
  get initializerBytes(): number {
    return this.initializers.reduce((sum, t) => sum + (t.rawData?.byteLength ?? 0), 0);
  }

  /** Number of nodes so far. */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** A name not used yet, derived from `hint` (value names must be unique in a graph). */
  fresh(hint: string): string {
    let name = hint;
    while (this.usedNames.has(name)) name = `${hint}_${++this.counter}`;
    this.usedNames.add(name);
    return name;
  }

  /** Declares a graph input and returns its name. */
  input(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    const unique = this.fresh(name);
    if (unique !== name) throw new Error(`graph input name ${name} is already used`);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declares `value` (an existing value name) as a graph output. */
  output(value: string, elemType: ElemType, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(value, elemType, dims));
  }

  /** Adds a constant tensor stored as raw little-endian bytes; returns its name. */
  initializer(hint: string, data: Float32Array | BigInt64Array, dims: readonly number[]): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected) throw new Error(`initializer ${hint}: ${data.length} values for dims [${dims.join(",")}]`);
    const name = this.fresh(hint);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: data instanceof Float32Array ? DATA_TYPE.float32 : DATA_TYPE.int64,
      rawData: littleEndianBytes(data),
    });
    return name;
  }

  /** A float32 constant; `dims` [] makes a scalar. */
  floatConst(hint: string, values: readonly number[], dims: readonly number[] = []): string {
    return this.initializer(hint, Float32Array.from(values), dims);
  }

  /** An int64 constant; `dims` [] makes a scalar. */
  int64Const(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer(hint, BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }

  /** Adds a node with one output and returns the output's name. */
  node(opType: string, inputs: readonly string[], attributes: onnx.IAttributeProto[] = [], hint?: string): string {
    const output = this.fresh(hint ?? opType.toLowerCase());
    this.nodes.push({ opType, input: [...inputs], output: [output], name: `${output}_node`, attribute: attributes });
    return output;
  }

  /** Encodes the graph as a serialized ModelProto. */
  encode(options: ModelOptions): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: options.irVersion,
      producerName: options.producerName,
      producerVersion: options.producerVersion,
      docString: options.docString ?? "",
      opsetImport: [{ domain: "", version: options.opset }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return ModelProto.encode(model).finish();
  }
}
