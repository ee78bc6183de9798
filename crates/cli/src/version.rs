//! `--version`: the package version, the git commit it was built from and the compiled-in
//! tools (crates/cli/build.rs finds both).

/// The git commit the binaries were built from (12 hex digits), or `unknown` outside a git
/// checkout (a crates.io tarball); `THINLEDGER_BUILD_COMMIT` at build time overrides it.
pub const COMMIT: &str = env!("THINLEDGER_BUILD_COMMIT");

/// The cargo features (tools) compiled in, comma-separated.
pub const FEATURES: &str = env!("THINLEDGER_BUILD_FEATURES");

/// What `--version` prints after the tool's name: `0.1.0 (commit 3c2ef44abcd1, features
/// backup,policy,size,topology)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("THINLEDGER_BUILD_COMMIT"),
    ", features ",
    env!("THINLEDGER_BUILD_FEATURES"),
    ")"
);
