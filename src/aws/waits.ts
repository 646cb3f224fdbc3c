/**
 * Waits on AWS that people should see: every SDK call that takes longer than a second is reported here, and the CLI
 * decides how to show it (a spinner at a terminal, a plain line otherwise, nothing with --json). Commands and tests
 * that set no reporter see nothing.
 */
export type WaitReporter = (label: string) => () => void;

let reporter: WaitReporter | undefined;

export function setWaitReporter(next: WaitReporter | undefined): void {
  reporter = next;
}

/** Starts showing `label`; call the returned function when the wait is over. */
export function reportWait(label: string): () => void {
  return reporter ? reporter(label) : () => {};
}
