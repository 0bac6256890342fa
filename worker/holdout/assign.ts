import { unitHash } from "./hash.ts";

/** Universal control group settings. */
export interface HoldoutConfig {
  /** Share of visitors in the control group, 0..1. */
  rate: number;
  /** Changing the salt reshuffles who is held out. */
  salt: string;
}

/** True when this visitor belongs to the universal control group. Pure and deterministic. */
export function isHeldOut(visitorId: string, config: HoldoutConfig): boolean {
  if (config.rate <= 0) return false;
  return unitHash(config.salt, visitorId) < config.rate;
}
