/**
 * The rules both stores share (src/store/expiry.ts, src/store/vectors.ts):
 * one expiry rule, one vector check, one float32 codec.
 */
import { describe, expect, it } from "vitest";
import { isLive } from "../../src/store/expiry.js";
import { checkVector, decodeFloat32, encodeFloat32 } from "../../src/store/vectors.js";

describe("the expiry rule", () => {
  it("treats 0 as never expiring and the expiry instant as expired", () => {
    expect(isLive(0, Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isLive(1000, 999)).toBe(true);
    expect(isLive(1000, 1000)).toBe(false);
  });
});

describe("the float32 codec", () => {
  it("encodes floats as little-endian FLOAT32 and back", () => {
    const blob = encodeFloat32(new Float32Array([0.5, -1.25, 3]));
    expect([...blob]).toEqual([0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0xa0, 0xbf, 0x00, 0x00, 0x40, 0x40]);
    expect(Array.from(decodeFloat32(blob))).toEqual([0.5, -1.25, 3]);
    expect(Array.from(decodeFloat32(blob, 3))).toEqual([0.5, -1.25, 3]);
    expect(() => decodeFloat32(Buffer.alloc(5))).toThrow(RangeError);
    expect(() => decodeFloat32(blob, 4)).toThrow(/12 bytes, expected 16/);
  });

  it("gives the encoded bytes their own buffer and reads unaligned ones", () => {
    const vector = new Float32Array([1, 2]);
    const blob = encodeFloat32(vector);
    vector[0] = 9;
    expect(blob.readFloatLE(0)).toBe(1);
    const unaligned = Buffer.concat([Buffer.alloc(1), blob]).subarray(1);
    expect(Array.from(decodeFloat32(unaligned, 2))).toEqual([1, 2]);
  });
});

describe("the vector check", () => {
  it("accepts a Float32Array of the dimension, finite throughout", () => {
    expect(() => checkVector(new Float32Array(3), 3)).not.toThrow();
  });

  it("refuses another length, another type, and NaN or infinities, saying which", () => {
    expect(() => checkVector(new Float32Array(2), 3)).toThrow(/3-dimensional .*length 3.*got length 2/);
    expect(() => checkVector([1, 2, 3] as unknown as Float32Array, 3)).toThrow(/got Array/);
    expect(() => checkVector(new Float32Array([1, Number.NaN, 0]), 3)).toThrow(/non-finite component at 1/);
    expect(() => checkVector(new Float32Array([Number.POSITIVE_INFINITY, 0, 0]), 3)).toThrow(RangeError);
  });
});
