import type { OperationProgress } from '../deploy/stack-watch.js';
import type { Colors } from './colors.js';
import type { Output } from './output.js';

/** Where the engine reports what CloudFormation is doing: a live spinner at a terminal, plain lines otherwise. */
export interface DeployProgress {
  /** A line that stays on screen. */
  line(text: string): void;
  /** A stack's operation moved. */
  update(stack: string, verb: string, progress: OperationProgress): void;
  /** A stack's operation started (before any event). */
  start(stack: string, verb: string, total: number): void;
  /** What a stack is waiting for, in words (e.g. "computing changes"). */
  status(stack: string, text: string): void;
  /** A stack left the live view. */
  finish(stack: string): void;
  /** Stops live output, e.g. while a question is asked; `resume` brings it back. */
  pause(): void;
  resume(): void;
  stop(): void;
}

interface Writable {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Runs `task` with live progress for `output`; the spinner stops however the task ends. Ctrl+C (or SIGTERM) stops
 * the spinner, says what CloudFormation is still doing (`interrupted`), and exits 130: stack operations already
 * started go on in AWS whatever this process does, so the person must know to look.
 */
export async function withDeployProgress<T>(
  output: Output,
  colors: Colors,
  interrupted: string,
  task: (progress: DeployProgress) => Promise<T>,
): Promise<T> {
  const progress = await createDeployProgress({
    stream: output.progressStream,
    lines: (text) => output.line(text),
    colors,
  });
  const onSignal = (signal: NodeJS.Signals) => {
    progress.stop();
    output.info(`\n${colors.yellow('Interrupted')} (${signal}). ${interrupted}`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await task(progress);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.stop();
  }
}

/** A spinner only for a person at a terminal; CI, pipes and `TERM=dumb` get plain lines, never spinner frames. */
export async function createDeployProgress(options: {
  stream: Writable;
  lines: (text: string) => void;
  colors: Colors;
}): Promise<DeployProgress> {
  const live = options.stream.isTTY === true && !process.env.CI && process.env.TERM !== 'dumb';
  if (!live) return new PlainProgress(options.lines, options.colors);
  const { default: ora } = await import('ora');
  return new SpinnerProgress(
    ora({ stream: options.stream as NodeJS.WritableStream, discardStdin: false }),
    options.lines,
    options.colors,
    options.stream,
  );
}

function describe(progress: OperationProgress): string {
  const { latest } = progress;
  const reason = latest.reason && !/^User Initiated$/.test(latest.reason) ? ` ${latest.reason}` : '';
  return `${latest.logicalId} ${latest.status}${reason}`;
}

class PlainProgress implements DeployProgress {
  constructor(
    private readonly lines: (text: string) => void,
    private readonly colors: Colors,
  ) {}

  line(text: string): void {
    this.lines(text);
  }

  start(stack: string, verb: string, total: number): void {
    this.lines(`${stack}: ${verb} started (${total} resource${total === 1 ? '' : 's'})`);
  }

  status(stack: string, text: string): void {
    this.lines(`${stack}: ${text}`);
  }

  update(stack: string, _verb: string, progress: OperationProgress): void {
    const text = `${stack}: [${progress.done}/${progress.total}] ${describe(progress)}`;
    this.lines(progress.latest.status.endsWith('_FAILED') ? this.colors.red(text) : text);
  }

  finish(): void {}
  pause(): void {}
  resume(): void {}
  stop(): void {}
}

interface Spinner {
  text: string;
  start(): unknown;
  stop(): unknown;
  clear(): unknown;
  render(): unknown;
  isSpinning: boolean;
}

class SpinnerProgress implements DeployProgress {
  private readonly active = new Map<string, string>();
  private paused = false;

  constructor(
    private readonly spinner: Spinner,
    private readonly lines: (text: string) => void,
    private readonly colors: Colors,
    private readonly stream: Writable,
  ) {}

  line(text: string): void {
    if (this.spinner.isSpinning) this.spinner.clear();
    this.lines(text);
    if (this.spinner.isSpinning) this.spinner.render();
  }

  start(stack: string, verb: string, total: number): void {
    this.active.set(stack, `${verb} 0/${total}`);
    this.refresh();
  }

  status(stack: string, text: string): void {
    this.active.set(stack, this.colors.dim(text));
    this.refresh();
  }

  update(stack: string, verb: string, progress: OperationProgress): void {
    const bar = this.bar(progress.done, progress.total);
    this.active.set(stack, `${verb} ${bar} ${progress.done}/${progress.total}  ${this.colors.dim(describe(progress))}`);
    if (progress.latest.status.endsWith('_FAILED'))
      this.line(`${this.colors.red('✖')} ${stack}: ${describe(progress)}`);
    this.refresh();
  }

  finish(stack: string): void {
    this.active.delete(stack);
    this.refresh();
  }

  pause(): void {
    this.paused = true;
    this.spinner.stop();
  }

  resume(): void {
    this.paused = false;
    this.refresh();
  }

  stop(): void {
    this.active.clear();
    this.spinner.stop();
  }

  private bar(done: number, total: number): string {
    const width = 12;
    const filled = total === 0 ? 0 : Math.round((Math.min(done, total) / total) * width);
    return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  }

  private refresh(): void {
    if (this.paused) return;
    if (this.active.size === 0) {
      this.spinner.stop();
      return;
    }
    const columns = Math.max(40, (this.stream.columns ?? 100) - 4);
    const names = [...this.active.keys()];
    const pad = Math.max(...names.map((name) => name.length));
    const rows = names.map((name) => `${name.padEnd(pad)}  ${this.active.get(name)}`);
    // A wrapped line would leave residue behind when the spinner redraws; keep each row within the terminal.
    this.spinner.text = rows.map((row) => truncateVisible(row, columns)).join('\n  ');
    if (!this.spinner.isSpinning) this.spinner.start();
  }
}

const ANSI = /\u001b\[[0-9;]*m/g;

function truncateVisible(text: string, width: number): string {
  if (text.replace(ANSI, '').length <= width) return text;
  let visible = 0;
  let out = '';
  for (let index = 0; index < text.length; ) {
    ANSI.lastIndex = index;
    const match = ANSI.exec(text);
    if (match && match.index === index) {
      out += match[0];
      index += match[0].length;
      continue;
    }
    if (visible >= width - 1) break;
    out += text[index];
    visible++;
    index++;
  }
  return `${out}…\u001b[0m`;
}
