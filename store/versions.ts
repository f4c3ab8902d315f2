// Row versions. Every stored row carries one, and the ReplacingMergeTree tables keep the row with
// the highest, so the last write of a record wins whatever order the writes land in.

let lastVersion = 0;

/**
 * Reserves `count` consecutive versions and returns the first. Versions are microseconds since
 * the epoch and strictly increasing in this thread, so rows numbered from the block in input
 * order are ordered as their input was, and a later block (or a later process, by the clock)
 * wins. A block may run ahead of the clock by its size in microseconds; the next one starts after.
 */
export function nextVersions(count: number): number {
  const first = Math.max(Date.now() * 1000, lastVersion + 1);
  lastVersion = first + Math.max(1, count) - 1;
  return first;
}

/** One version, for a single write or a derive. */
export function nextVersion(): number {
  return nextVersions(1);
}
