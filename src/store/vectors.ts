/**
 * Vectors as every store takes and keeps them: checked once on the way in,
 * and stored as float32 little-endian bytes whatever the host's byte order
 * (the layout RediSearch's FLOAT32 vectors use, and a portable SQLite file).
 */

/**
 * Throws RangeError unless `vector` is a Float32Array of `dimension` finite
 * numbers: a wrong length or a NaN would corrupt an index without a word.
 */
export function checkVector(vector: Float32Array, dimension: number): void {
  if (!(vector instanceof Float32Array) || vector.length !== dimension) {
    throw new RangeError(`expected a ${dimension}-dimensional vector (a Float32Array of length ${dimension}), got ${describeVector(vector)}`);
  }
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i])) throw new RangeError(`vector has a non-finite component at ${i}`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The vector's float32 little-endian bytes, in a buffer of its own. */
export function encodeFloat32(vector: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
  const out = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) out.writeFloatLE(vector[i] ?? 0, i * 4);
  return out;
}

/**
 * The inverse of {@link encodeFloat32}. Copies, since a database's buffer
 * need not be 4-byte aligned. Throws RangeError when the length is not a
 * whole number of floats, or not `dimension` floats when that is given.
 */
export function decodeFloat32(bytes: Uint8Array, dimension?: number): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new RangeError(`a FLOAT32 blob must be a multiple of 4 bytes long (got ${bytes.byteLength})`);
  }
  if (dimension !== undefined && bytes.byteLength !== dimension * 4) {
    throw new RangeError(`stored vector has ${bytes.byteLength} bytes, expected ${dimension * 4}`);
  }
  const out = new Float32Array(bytes.byteLength / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

function describeVector(vector: unknown): string {
  if (vector instanceof Float32Array) return `length ${vector.length}`;
  return vector === null ? "null" : typeof vector === "object" ? (vector.constructor?.name ?? "object") : typeof vector;
}
