import { NAMESPACE_PATTERN } from "../cache/scope.js";

/**
 * The namespaces a key may use: exact names (`team-a`), prefixes written with a
 * trailing star (`team-a/*` grants `team-a/prod`, `team-a/dev`, ...), or `*`
 * for every namespace.
 */
export class NamespaceGrants {
  private readonly exact: ReadonlySet<string>;
  private readonly prefixes: readonly string[];
  private readonly everything: boolean;

  private constructor(readonly patterns: readonly string[]) {
    this.everything = patterns.includes("*");
    this.exact = new Set(patterns.filter((p) => !p.endsWith("*")));
    this.prefixes = patterns.filter((p) => p.endsWith("*") && p !== "*").map((p) => p.slice(0, -1));
  }

  /** Grants every namespace (admin keys). */
  static all(): NamespaceGrants {
    return new NamespaceGrants(["*"]);
  }

  /**
   * Compiles patterns, throwing with the offending one named. A prefix must
   * itself be made of namespace characters, so `*` can only come last.
   */
  static parse(patterns: readonly string[]): NamespaceGrants {
    if (patterns.length === 0) throw new Error("must list at least one namespace");
    for (const pattern of patterns) {
      const body = pattern.endsWith("*") ? pattern.slice(0, -1) : pattern;
      if (pattern === "*") continue;
      if (!NAMESPACE_PATTERN.test(body)) {
        throw new Error(
          `${JSON.stringify(pattern)} is not a namespace (1 to 128 characters from letters, digits and "_ - . : / @"), a prefix ending in "*", or "*"`,
        );
      }
    }
    return new NamespaceGrants(patterns);
  }

  /** Whether the key may use `namespace`. */
  allows(namespace: string): boolean {
    if (this.everything || this.exact.has(namespace)) return true;
    return this.prefixes.some((prefix) => namespace.startsWith(prefix));
  }

  /** Whether the key may use every namespace. */
  get unrestricted(): boolean {
    return this.everything;
  }

  /** The one namespace a key is bound to: set when it grants exactly one exact name and nothing else. */
  get single(): string | undefined {
    if (this.patterns.length !== 1 || this.everything || this.prefixes.length > 0) return undefined;
    return this.patterns[0];
  }
}
