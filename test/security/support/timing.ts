/**
 * Comparing response times of two kinds of request (known versus unknown account) on a machine
 * that other work shares: the two are sent in pairs, back to back and in a random order, so both
 * sides of a pair meet the same load. The medians of each side are reported, and the comparison
 * is the median of the paired differences (known − unknown) relative to the unknown side's
 * median: load that drifts during a round moves both sides of a pair alike and cancels there,
 * where it would shift one side's median against the other's. One round that misses the bound is
 * measured again (at most `rounds` times): a real difference shows in every round, a burst of
 * load on the machine does not.
 */
export interface TimingResult {
  known: number;
  unknown: number;
  /** known / unknown medians. */
  ratio: number;
  /** Median of the paired differences, relative to the unknown median: 0.1 means known is 10% slower. */
  shift: number;
  rounds: string[];
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * `prepare*` builds one request (its fixtures, untimed) and returns the function that sends it
 * (timed). Returns the first round within `tolerance`, or the last one.
 */
export async function compareTimings(
  prepareKnown: () => Promise<() => Promise<unknown>>,
  prepareUnknown: () => Promise<() => Promise<unknown>>,
  options: { samples?: number; minMeasuredMs?: number; maxSamples?: number; warmup?: number; tolerance?: number; rounds?: number } = {},
): Promise<TimingResult> {
  // At least `samples` pairs, and more for fast requests (a few milliseconds each, where the
  // machine's noise weighs most) until the round has measured `minMeasuredMs`.
  const samples = options.samples ?? 24;
  const minMeasuredMs = options.minMeasuredMs ?? 3000;
  const maxSamples = options.maxSamples ?? 200;
  const warmup = options.warmup ?? 3;
  const tolerance = options.tolerance ?? 0.1;
  const rounds = options.rounds ?? 3;
  const log: string[] = [];
  let result: TimingResult | null = null;
  for (let round = 0; round < rounds; round++) {
    const known: number[] = [];
    const unknown: number[] = [];
    const differences: number[] = [];
    let measured = 0;
    for (let i = 0; i < warmup + maxSamples && (i < warmup + samples || measured < minMeasuredMs); i++) {
      const k = await prepareKnown();
      const u = await prepareUnknown();
      let tk: number;
      let tu: number;
      if (Math.random() < 0.5) {
        tk = await timed(k);
        tu = await timed(u);
      } else {
        tu = await timed(u);
        tk = await timed(k);
      }
      if (i >= warmup) {
        measured += tk + tu;
        known.push(tk);
        unknown.push(tu);
        differences.push(tk - tu);
      }
    }
    const mk = median(known);
    const mu = median(unknown);
    const shift = median(differences) / mu;
    result = { known: mk, unknown: mu, ratio: mk / mu, shift, rounds: log };
    log.push(`round ${round + 1} (${known.length} pairs): medians known ${mk.toFixed(1)} ms, unknown ${mu.toFixed(1)} ms (ratio ${(mk / mu).toFixed(3)}), paired shift ${(shift * 100).toFixed(1)}%`);
    if (Math.abs(shift) <= tolerance) break;
  }
  return result!;
}
