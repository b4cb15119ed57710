/**
 * The context attacks run in: `launch` starts targets (see target.ts) and
 * remembers them, so whoever runs the attack (the `npm run attack` runner, a
 * test) stops every one afterwards, whatever the attack did.
 */
import type { AttackContext } from "./attack.js";
import { launchTarget, type AttackTarget } from "./target.js";

/** An attack context, and a way to stop every target it launched. */
export interface ManagedAttackContext extends AttackContext {
  /** Stops every target launched through this context (errors ignored: the next attack needs a clean slate). */
  stopAll(): Promise<void>;
}

/** A context whose targets are `launchTarget` children, stopped by `stopAll`. */
export function createAttackContext(): ManagedAttackContext {
  const targets: AttackTarget[] = [];
  return {
    async launch(options) {
      const target = await launchTarget(options);
      targets.push(target);
      return target;
    },
    async stopAll() {
      const stopping = targets.splice(0);
      await Promise.all(stopping.map((target) => target.stop().catch(() => undefined)));
    },
  };
}
