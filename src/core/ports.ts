/**
 * The seams between pure logic (core/, templates/) and the outside world (aws/, local/, ui/).
 * Core code receives these; it never reaches for the terminal, the network or the AWS SDK itself.
 */

/** Asks a person for input. The CLI backs it with @inquirer/prompts; tests back it with scripted answers. */
export interface Prompter {
  input(question: {
    name: string;
    message: string;
    default?: string;
    validate?: (value: string) => true | string;
  }): Promise<string>;
  confirm(question: { name: string; message: string; default?: boolean }): Promise<boolean>;
  /** Hidden input (passphrases). */
  password(question: { name: string; message: string; validate?: (value: string) => true | string }): Promise<string>;
  select<T extends string>(question: {
    name: string;
    message: string;
    choices: readonly { value: T; name?: string; description?: string }[];
    default?: T;
  }): Promise<T>;
  checkbox<T extends string>(question: {
    name: string;
    message: string;
    choices: readonly { value: T; name?: string; checked?: boolean }[];
    validate?: (values: readonly T[]) => true | string;
  }): Promise<T[]>;
}

/** Reads the text files a config refers to (SSH and PGP keys), relative to the config's folder. */
export interface FileReader {
  /** Resolves a path as written in the config to the absolute path that will be read. */
  resolve(path: string): string;
  /** The file's bytes, or undefined when it does not exist. Other I/O errors throw. */
  read(path: string): Promise<Uint8Array | undefined>;
}

export interface Clock {
  now(): Date;
}
