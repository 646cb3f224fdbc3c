import { execFileSync } from 'node:child_process';

/** A detached tmux session on its own server socket: a real terminal of a fixed size, readable at any moment. */
export class TmuxSession {
  private readonly socket: string;

  constructor(
    readonly name: string,
    command: string,
    options: { width?: number; height?: number; cwd?: string; env?: Record<string, string> } = {},
  ) {
    this.socket = `sftpctl-test-${process.pid}-${name}`;
    const env = Object.entries({ TERM: 'xterm-256color', ...options.env }).map(([key, value]) => `${key}=${value}`);
    this.tmux(
      'new-session',
      '-d',
      '-s',
      name,
      '-x',
      String(options.width ?? 120),
      '-y',
      String(options.height ?? 40),
      ...(options.cwd ? ['-c', options.cwd] : []),
      `env -u CI ${env.join(' ')} ${command}; echo "[exit $?]"; sleep 600`,
    );
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /** The screen as text (plus scrollback), trailing blank lines dropped. */
  capture(): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', this.name).replace(/\n+$/, '\n');
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }

  /** Polls the screen until `test` passes; returns that screen. */
  async waitFor(test: (screen: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.capture();
      if (test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`terminal never showed ${what}; last screen:\n${screen}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {}
  }
}
