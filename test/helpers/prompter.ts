import type { Prompter } from '../../src/core/ports.js';

/**
 * A Prompter that answers from a script keyed by question name, runs each question's own validation on the
 * answer (as the real prompt would), and records what was asked.
 */
export function scriptedPrompter(answers: Record<string, string | boolean | string[]>) {
  const asked: string[] = [];
  const take = (name: string) => {
    asked.push(name);
    if (!(name in answers)) throw new Error(`unexpected question "${name}"`);
    return answers[name];
  };
  const prompter: Prompter = {
    async input(question) {
      const answer = String(take(question.name) ?? question.default ?? '');
      const verdict = question.validate?.(answer) ?? true;
      if (verdict !== true) throw new Error(`answer to "${question.name}" refused: ${verdict}`);
      return answer;
    },
    async password(question) {
      const answer = String(take(question.name) ?? '');
      const verdict = question.validate?.(answer) ?? true;
      if (verdict !== true) throw new Error(`answer to "${question.name}" refused: ${verdict}`);
      return answer;
    },
    async confirm(question) {
      return Boolean(take(question.name));
    },
    async select(question) {
      return take(question.name) as (typeof question.choices)[number]['value'];
    },
    async checkbox(question) {
      return take(question.name) as never;
    },
  };
  return { prompter, asked };
}
