// Import progress on stderr: a redrawn bar when stderr is a terminal, otherwise a plain line every
// few seconds (so logs of long runs show it is alive, and short runs print nothing extra).
import path from "node:path";
import type { ImportProgress } from "../connectors/file/import.ts";
import { printable } from "./render.ts";

const mb = (bytes: number) => (bytes / 1_048_576).toFixed(bytes < 10_485_760 ? 1 : 0);
const rate = (rows: number, ms: number) => `${Math.round(rows / Math.max(ms / 1000, 0.001)).toLocaleString("en-US")} rows/s`;

export class ProgressReporter {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(process.stderr.isTTY),
    private readonly plainEveryMs = 5_000,
  ) {}

  update = (p: ImportProgress): void => {
    const now = Date.now();
    if (now - this.lastDraw < (this.tty ? 200 : this.plainEveryMs)) return;
    if (!this.tty && p.elapsedMs < this.plainEveryMs) return;
    this.lastDraw = now;
    const fraction = p.totalBytes > 0 ? Math.min(1, p.bytesRead / p.totalBytes) : 1;
    const counts = `${p.transitions.toLocaleString("en-US")} transitions, ${p.items.toLocaleString("en-US")} items, ${p.rejected} rejected`;
    const where = `${printable(path.basename(p.file))} ${mb(p.bytesRead)}/${mb(p.totalBytes)} MB`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(fraction * width);
      const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
      this.out.write(`\r\x1b[K${bar} ${where}  ${rate(p.rows, p.elapsedMs)}  ${counts}`);
      this.drawn = true;
    } else {
      this.out.write(`import: ${(fraction * 100).toFixed(0)}% ${where}, ${rate(p.rows, p.elapsedMs)}, ${counts}\n`);
    }
  };

  /** Clears the bar before the summary is printed. */
  done(): void {
    if (this.drawn) this.out.write("\r\x1b[K");
    this.drawn = false;
  }
}
