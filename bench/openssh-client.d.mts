export declare const ISOLATED_SSH_OPTIONS: readonly string[];
