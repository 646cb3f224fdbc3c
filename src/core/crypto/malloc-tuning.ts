/**
 * glibc malloc settings for a process that streams files through node:crypto and node:fs (the ingress and egress
 * functions). Every chunk those APIs hand out is a fresh 1 MiB buffer; with glibc's defaults the freed ones go back to
 * the kernel in batches at garbage collection and the next megabytes fault in again page by page. Served from the heap
 * (mmap threshold 4 MiB) and kept there (trim threshold 128 MiB), they are reused instead: measured in
 * `bench/pipeline.mjs --malloc-tuned` and docs/pgp.md (item 15). glibc reads it at exec time only, so it belongs in
 * the environment a process starts with (a Lambda function's variables), never set from inside.
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=134217728';

/** The variable glibc reads them from. */
export const MALLOC_TUNABLES_VARIABLE = 'GLIBC_TUNABLES';
