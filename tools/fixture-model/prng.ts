/**
 * Seeded pseudo-random numbers, so that two builds of the fixture model are
 * byte-identical (Math.random cannot be seeded).
 */

/** A deterministic source of uniform and normal random numbers. */
export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (mean 0, standard deviation 1). */
  normal(): number;
  /** Fills `out` with normal(0, std) samples and returns it. */
  fillNormal(out: Float32Array, std: number): Float32Array;
}

/**
 * sfc32 seeded through splitmix32: fast, 128-bit state, and good enough
 * statistically for random weights (the weights only need to look random).
 */
export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();

  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  // Discard the first outputs: sfc32 mixes its seed slowly.
  for (let i = 0; i < 12; i++) nextUint32();

  const uniform = (): number => nextUint32() / 4294967296;
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
    const u = 1 - uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const fillNormal = (out: Float32Array, std: number): Float32Array => {
    for (let i = 0; i < out.length; i++) out[i] = normal() * std;
    return out;
  };
  return { uniform, normal, fillNormal };
}
