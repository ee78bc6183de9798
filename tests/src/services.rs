//! What `scripts/test.sh` starts (storage emulators, PostgreSQL, restic, validators) is
//! announced in `THINLEDGER_TEST_*` variables. A test whose service is missing is skipped
//! with a message, unless `THINLEDGER_REQUIRE_SERVICES=1` (set by the script), which
//! makes it fail.

/// Whether missing services fail the tests (`THINLEDGER_REQUIRE_SERVICES=1`).
pub fn required() -> bool {
    std::env::var("THINLEDGER_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Reports a missing service: panics when services are [`required`], else prints that the
/// test is skipped. `what` names what is missing and how to get it.
pub fn missing(what: &str) {
    assert!(!required(), "THINLEDGER_REQUIRE_SERVICES=1 but {what}");
    eprintln!("skipping: {what}");
}

/// The value of the service variable `var`, or `None` (skipped, see [`missing`]) when it
/// is unset or empty.
pub fn var(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            missing(&format!(
                "{var} is not set (run `bash scripts/test.sh`, which sources scripts/services/*.sh to start it)"
            ));
            None
        }
    }
}
