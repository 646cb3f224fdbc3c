export declare const ISOLATED_SSH_OPTIONS: readonly string[];
export declare function generateUserAndHostKeys(dir: string): { userKey: string; hostKeyPath: string };
