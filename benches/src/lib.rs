//! Benchmarks and evaluation binaries for Tutti; see `benches/README.md` for the recorded figures.
