/**
 * Collects the outcome of every call: client-side latency grouped by method,
 * operation and protocol, whether it came back as intended, and every error
 * by method and status code.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { round, summarize, type LatencySummary } from "../../bench/lib/stats.js";
import type { Protocol } from "../../test/support/clients.js";
import type { Method, OperationKind } from "./mix.js";

/** What happened to one call. */
export interface CallOutcome {
  readonly kind: OperationKind;
  readonly method: Method;
  readonly protocol: Protocol;
  readonly ms: number;
  /** Undefined when the call succeeded. */
  readonly error?: unknown;
  /** The call succeeded and its answer was the one the operation aimed for (a hit, a miss, a replacement, ...). */
  readonly asIntended: boolean;
}

/** A latency summary with the group's errors and as-intended share. */
export interface GroupSummary extends LatencySummary {
  readonly errors: number;
  /** Successful calls that came back as intended, over all calls of the group. */
  readonly asIntended: number;
}

/** Errors of one method with one status code. */
export interface ErrorCount {
  readonly method: Method;
  /** The status code's name (`UNAVAILABLE`, ...), or `NOT_CONNECT_ERROR` for anything else thrown. */
  readonly code: string;
  readonly count: number;
  /** The first error's message, for the report. */
  readonly example: string;
}

/** Everything the recorder gathered, summarised. */
export interface RecordSummary {
  readonly calls: number;
  readonly errors: number;
  readonly overall: GroupSummary;
  readonly byMethod: Readonly<Record<string, GroupSummary>>;
  readonly byOperation: Readonly<Record<string, GroupSummary>>;
  readonly byProtocol: Readonly<Record<string, GroupSummary>>;
  readonly errorCounts: readonly ErrorCount[];
}

/** The status code name of an error, as the report counts it. */
export function codeName(error: unknown): string {
  if (error instanceof ConnectError) return (Code[error.code] ?? String(error.code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
  return "NOT_CONNECT_ERROR";
}

class Group {
  readonly ms: number[] = [];
  errors = 0;
  intended = 0;

  add(outcome: CallOutcome): void {
    this.ms.push(outcome.ms);
    if (outcome.error !== undefined) this.errors++;
    else if (outcome.asIntended) this.intended++;
  }

  summary(): GroupSummary {
    return { ...summarize(this.ms), errors: this.errors, asIntended: round(this.intended / Math.max(1, this.ms.length)) };
  }
}

/** Accumulates call outcomes. */
export class Recorder {
  private readonly overall = new Group();
  private readonly groups = new Map<string, Map<string, Group>>();
  private readonly errorCounts = new Map<string, { method: Method; code: string; count: number; example: string }>();

  /** Calls recorded so far. */
  get calls(): number {
    return this.overall.ms.length;
  }

  /** Errors recorded so far. */
  get errors(): number {
    return this.overall.errors;
  }

  private group(dimension: string, name: string): Group {
    let byName = this.groups.get(dimension);
    if (byName === undefined) {
      byName = new Map();
      this.groups.set(dimension, byName);
    }
    let group = byName.get(name);
    if (group === undefined) {
      group = new Group();
      byName.set(name, group);
    }
    return group;
  }

  /** Adds one call's outcome. */
  record(outcome: CallOutcome): void {
    this.overall.add(outcome);
    this.group("method", outcome.method).add(outcome);
    this.group("operation", outcome.kind).add(outcome);
    this.group("protocol", outcome.protocol).add(outcome);
    if (outcome.error === undefined) return;
    const code = codeName(outcome.error);
    const key = `${outcome.method} ${code}`;
    const known = this.errorCounts.get(key);
    if (known !== undefined) known.count++;
    else {
      const example = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      this.errorCounts.set(key, { method: outcome.method, code, count: 1, example: example.slice(0, 300) });
    }
  }

  /** The summaries of everything recorded so far. */
  summary(): RecordSummary {
    const of = (dimension: string): Record<string, GroupSummary> =>
      Object.fromEntries([...(this.groups.get(dimension) ?? new Map<string, Group>())].map(([name, group]) => [name, group.summary()]));
    return {
      calls: this.calls,
      errors: this.errors,
      overall: this.overall.summary(),
      byMethod: of("method"),
      byOperation: of("operation"),
      byProtocol: of("protocol"),
      errorCounts: [...this.errorCounts.values()].sort((a, b) => b.count - a.count),
    };
  }
}
