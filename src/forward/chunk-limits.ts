/**
 * How large a chunk may grow, apart from the chunk builder: the CLI's option table needs the
 * defaults, and loading the builder for them loaded the msgpack library too (about 15 ms at every
 * start, `--help` and `lint` included, which encode nothing).
 */
export interface ChunkLimits {
  maxRecords: number;
  maxBytes: number;
}

/** 1 MiB and 5000 records: small next to the 8 MB chunk limit common in Fluentd setups. */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxRecords: 5000, maxBytes: 1024 * 1024 };
