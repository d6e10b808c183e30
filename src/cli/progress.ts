/**
 * A progress bar with ETA on stderr. On a terminal it redraws one line; when
 * stderr is a file or a pipe it prints a plain line every few seconds, so
 * logs stay readable.
 */

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private lastPlain = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(options: { stream?: NodeJS.WriteStream; intervalSeconds?: number } = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.plainInterval = (options.intervalSeconds ?? 5) * 1000;
  }

  private readonly plainInterval: number;

  /**
   * An onProgress(done, total) for a pass over images that started now: the bar with images/s
   * and the time left at that rate (eval, responses).
   */
  images(label: string): (done: number, total: number) => void {
    const t0 = performance.now();
    return (done, total) => {
      const seconds = (performance.now() - t0) / 1000;
      this.update({
        done,
        total,
        label,
        detail: `${(done / seconds).toFixed(0)} img/s`,
        etaSeconds: ((total - done) * seconds) / done,
      });
    };
  }

  /** Draw `done` of `total` with a label and details; throttled to 10 redraws a second. */
  update(options: {
    done: number;
    total: number;
    label: string;
    detail: string;
    etaSeconds: number;
    force?: boolean;
  }): void {
    const now = Date.now();
    const { done, total, label, detail, etaSeconds } = options;
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    const percent = `${(fraction * 100).toFixed(0).padStart(3)}%`;
    const eta = `ETA ${formatDuration(etaSeconds)}`;
    if (this.tty) {
      if (!options.force && now - this.lastDraw < 100 && done < total) return;
      this.lastDraw = now;
      const columns = this.stream.columns ?? 100;
      // ETA before the details, so a narrow terminal cuts the details first.
      const text = ` ${percent} ${done}/${total} ${eta} ${detail}`;
      const width = Math.max(10, Math.min(40, columns - label.length - text.length - 4));
      const filled = Math.round(fraction * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const line = `${label} ${bar}${text}`.slice(0, columns - 1);
      this.stream.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else if (options.force || now - this.lastPlain >= this.plainInterval || done >= total) {
      this.lastPlain = now;
      this.stream.write(`${label} ${percent} ${done}/${total} ${eta} ${detail}\n`);
    }
  }

  /** Print a line above the bar (an epoch summary). */
  log(line: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(`${line}\n`);
    this.drawn = false;
  }

  /** Finish the bar's line. */
  done(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
