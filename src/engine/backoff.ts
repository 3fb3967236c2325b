/**
 * Restart delay for the `attempt`-th consecutive restart (1-based): `initialMs · 2^(attempt-1)` capped at `maxMs`,
 * with "equal jitter" — a uniformly random delay in [d/2, d] — so connectors that failed together do not
 * reconnect in lockstep.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(maxMs, initialMs * 2 ** exp);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
