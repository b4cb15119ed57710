/** Parses a setting's raw text into its value, or throws with a reason. */
export type Parser<T> = (raw: string) => T;

/** Any non-empty text. */
export const text: Parser<string> = (raw) => {
  if (raw.trim() === "") throw new Error("must not be empty");
  return raw.trim();
};

/** A whole number within [min, max]. */
export function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const value = Number(raw.trim());
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new Error(`must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

/** A number in (min, max]. */
export function numberAbove(min: number, max: number): Parser<number> {
  return (raw) => {
    const value = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(value) || value <= min || value > max) {
      throw new Error(`must be a number greater than ${min} and at most ${max}`);
    }
    return value;
  };
}

/** A number in (min, max), both ends excluded. */
export function numberBetween(min: number, max: number): Parser<number> {
  return (raw) => {
    const value = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(value) || value <= min || value >= max) {
      throw new Error(`must be a number greater than ${min} and less than ${max}`);
    }
    return value;
  };
}

/** A number in [min, max]. */
export function numberFrom(min: number, max: number): Parser<number> {
  return (raw) => {
    const value = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
      throw new Error(`must be a number from ${min} to ${max}`);
    }
    return value;
  };
}

/** One of a fixed set of words. */
export function oneOf<const T extends string>(...choices: T[]): Parser<T> {
  return (raw) => {
    const value = raw.trim() as T;
    if (!choices.includes(value)) throw new Error(`must be one of ${choices.join(", ")}`);
    return value;
  };
}

/** A comma-separated list (empty entries dropped). */
export const list: Parser<string[]> = (raw) =>
  raw
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");

/** An http(s) or redis(s) URL. */
export function url(...protocols: string[]): Parser<string> {
  return (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw.trim());
    } catch {
      throw new Error("must be a URL");
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new Error(`must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`);
    }
    return raw.trim();
  };
}

/** true/false, 1/0, yes/no, on/off. */
export const boolean: Parser<boolean> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off"].includes(value)) return false;
  throw new Error("must be true or false");
};
