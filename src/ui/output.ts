import { type Colors, colorsEnabled, createColors } from './colors.js';

/**
 * Where a command's results go. In --json mode stdout carries exactly one JSON document and everything meant for
 * people goes to stderr, so `sftpctl … --json | jq` always works.
 */
export class Output {
  readonly colors: Colors;
  readonly errColors: Colors;

  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
    private readonly stderr: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  ) {
    this.colors = createColors(!json && colorsEnabled(stdout));
    this.errColors = createColors(colorsEnabled(stderr));
  }

  /** Where live progress goes (a spinner only when this is a terminal): stderr, so stdout stays clean. */
  get progressStream(): NodeJS.WritableStream & { isTTY?: boolean; columns?: number } {
    return this.stderr;
  }

  /** A line for people: stdout normally, stderr in --json mode. */
  line(text = ''): void {
    (this.json ? this.stderr : this.stdout).write(`${text}\n`);
  }

  /** The machine-readable result; written only in --json mode. */
  data(value: unknown): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  warn(text: string): void {
    this.stderr.write(`${this.errColors.yellow('warning')} ${text}\n`);
  }

  info(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  success(text: string): void {
    this.line(`${(this.json ? this.errColors : this.colors).green('✔')} ${text}`);
  }
}
