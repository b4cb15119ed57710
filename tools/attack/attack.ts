/**
 * What one attack of `npm run attack` is: a bounded, loopback-only
 * reproduction of one way a hostile client tried to hurt the server, that
 * says whether the server held. The same modules run in the test suite
 * (test/attack) and from the command line (tools/attack/main.ts).
 */
import type { AttackTarget, TargetOptions } from "./target.js";

/** What an attack reports. */
export interface AttackResult {
  /** True when the server held: it stayed responsive, bounded, and lost nothing. */
  readonly held: boolean;
  /** One line of numbers behind the verdict (latencies, memory, counts). */
  readonly detail: string;
}

/** What an attack is given to work with. */
export interface AttackContext {
  /** Starts a server to attack (a `semcache serve` child on the fixture model, API keys on); stopped by the runner. */
  launch(options?: TargetOptions): Promise<AttackTarget>;
}

/** One attack; each file in tools/attack/attacks exports one as `attack`. */
export interface Attack {
  /** Short name for the table, e.g. "h2 half-open streams". */
  readonly name: string;
  /** Item number in the hostile-clients issue it reproduces. */
  readonly item: number;
  /** Runs the attack against servers it launches, bounded in count and time, and judges it. */
  run(context: AttackContext): Promise<AttackResult>;
}
