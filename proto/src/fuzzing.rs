//! Entry points for the fuzz targets in `proto/fuzz/`. Each target is one call into here, so
//! private parsers are fuzzed without becoming public API.
