import type { WaitReporter } from '../aws/waits.js';

interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Shows waits on AWS: a spinner on a terminal (ora, loaded only when a wait actually happens), or one plain line per
 * wait when the stream is a pipe or a file. Concurrent waits share one spinner.
 */
export function waitIndicator(stream: Stream): WaitReporter {
  const active = new Map<number, string>();
  let next = 0;
  let spinner: Promise<{ text: string; stop(): unknown; start(): unknown; isSpinning: boolean }> | undefined;
  const text = () => {
    const labels = [...active.values()];
    return labels.length > 1 ? `${labels[0]} (+${labels.length - 1} more)` : (labels[0] ?? '');
  };
  return (label) => {
    const id = next++;
    active.set(id, label);
    if (!stream.isTTY) {
      stream.write(`${label}\n`);
      return () => active.delete(id);
    }
    spinner ??= import('ora').then(({ default: ora }) =>
      ora({ text: text(), stream: stream as NodeJS.WritableStream, discardStdin: false }),
    );
    void spinner.then((live) => {
      if (active.size === 0) return;
      live.text = text();
      if (!live.isSpinning) live.start();
    });
    return () => {
      active.delete(id);
      void spinner?.then((live) => {
        if (active.size === 0) live.stop();
        else live.text = text();
      });
    };
  };
}
