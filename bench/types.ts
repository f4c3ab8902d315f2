// The contract between bench/run.ts and a section (bench/sections/<name>.ts): a section exports
// `name`, `description` and `run(options): Promise<BenchResult>`.

export interface BenchOptions {
  /** Scale knob: work items to generate (sections may ignore it). */
  items?: number;
  /** Repetitions per timed query. */
  repeats?: number;
  /** Where to put generated files and stores (default: the OS temp dir). */
  workDir?: string;
  /** Keep generated files and stores for inspection. */
  keep?: boolean;
  /** Sizes in transitions for the opt-in scale section (`--scale-sizes 1000000,10000000`). */
  scaleSizes?: number[];
  /**
   * Scale section: grow the history with the size at the smallest size's yearly rate (1M over a
   * year, 10M over ten), so the window holds the same items at every size, instead of a busier year.
   */
  scaleHistory?: boolean;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export interface BenchTarget {
  name: string;
  value: number;
  /** Human-readable goal, e.g. ">= 200000" or "< 300". */
  target: string;
  pass: boolean;
}

export interface BenchResult {
  section: string;
  /** What was run (sizes, repeats). */
  params: Record<string, number | string>;
  /** Measured figures; null when a figure could not be taken. */
  figures: Record<string, number | string | null>;
  targets: BenchTarget[];
}

export interface BenchSection {
  name: string;
  description?: string;
  run(options: BenchOptions): Promise<BenchResult>;
}
