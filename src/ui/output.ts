import { type Colors, colorsEnabled, createColors } from './colors.js';

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Where --json sends everything meant for people: nowhere (stderr carries only real errors then). */
const DISCARD: Stream = Object.assign(
  {
    write: () => true,
  } as unknown as NodeJS.WritableStream,
  { isTTY: false },
);

/**
 * Where a command's results go. In --json mode stdout carries exactly one JSON document and stderr nothing but real
 * errors (printed by the CLI): the human report, warnings and progress are left out, as the JSON carries them.
 */
export class Output {
  readonly colors: Colors;
  readonly errColors: Colors;

  constructor(
    readonly json: boolean,
    private readonly stdout: Stream = process.stdout,
    private readonly stderr: Stream = process.stderr,
  ) {
    this.colors = createColors(!json && colorsEnabled(stdout));
    this.errColors = createColors(colorsEnabled(stderr));
  }

  /** Where live progress goes (a spinner only when this is a terminal): stderr, so stdout stays clean. */
  get progressStream(): Stream {
    return this.json ? DISCARD : this.stderr;
  }

  /** Columns of the terminal stdout is, or undefined when it is a pipe or a file (tables keep their full width). */
  get width(): number | undefined {
    return this.stdout.isTTY && this.stdout.columns ? this.stdout.columns : undefined;
  }

  /** A line for people on stdout; nothing in --json mode. */
  line(text = ''): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** Text exactly as given, on stdout (a generated script, a file's contents). */
  raw(text: string): void {
    this.stdout.write(text);
  }

  /** The machine-readable result; written only in --json mode. */
  data(value: unknown): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A warning for people, on stderr; with --json the JSON result carries warnings instead. */
  warn(text: string): void {
    if (!this.json) this.stderr.write(`${this.errColors.yellow('warning')} ${text}\n`);
  }

  /** A note for people, on stderr (so stdout stays the result); nothing with --json. */
  info(text: string): void {
    if (!this.json) this.stderr.write(`${text}\n`);
  }

  success(text: string): void {
    this.line(`${this.colors.green('✔')} ${text}`);
  }
}
