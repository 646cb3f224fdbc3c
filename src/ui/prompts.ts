import type { Prompter } from '../core/ports.js';

/** The Prompter the CLI uses: @inquirer/prompts, loaded only when a question is actually asked. */
export function inquirerPrompter(): Prompter {
  const load = () => import('@inquirer/prompts');
  return {
    async input(question) {
      const { input } = await load();
      return input({
        message: question.message,
        ...(question.default === undefined ? {} : { default: question.default }),
        ...(question.validate ? { validate: question.validate } : {}),
      });
    },
    async confirm(question) {
      const { confirm } = await load();
      return confirm({
        message: question.message,
        ...(question.default === undefined ? {} : { default: question.default }),
      });
    },
    async password(question) {
      const { password } = await load();
      return password({
        message: question.message,
        mask: true,
        ...(question.validate ? { validate: question.validate } : {}),
      });
    },
    async select(question) {
      const { select } = await load();
      return select({
        message: question.message,
        choices: question.choices.map((choice) => ({ ...choice })),
        ...(question.default === undefined ? {} : { default: question.default }),
      });
    },
    async checkbox(question) {
      const { checkbox } = await load();
      return checkbox({
        message: question.message,
        choices: question.choices.map((choice) => ({ ...choice })),
        ...(question.validate
          ? {
              validate: (items: readonly { value: (typeof question.choices)[number]['value'] }[]) =>
                question.validate?.(items.map((item) => item.value)) ?? true,
            }
          : {}),
      });
    },
  };
}
