use super::*;

#[test]
fn cockroach_mode_parses() {
    assert_eq!(
        "operator".parse::<CockroachMode>().unwrap(),
        CockroachMode::Operator
    );
    assert_eq!(
        "StatefulSet".parse::<CockroachMode>().unwrap(),
        CockroachMode::StatefulSet
    );
    let err = "helm".parse::<CockroachMode>().unwrap_err().to_string();
    assert!(err.contains("operator, statefulset"), "{err}");
}

#[test]
fn size_flags() {
    assert_eq!(common::crdb_size_flag(ByteSize::gib(8)), "8GiB");
    assert_eq!(common::crdb_size_flag(ByteSize::mib(8704)), "8704MiB");
    assert_eq!(common::seastar_size_flag(ByteSize::gib(14)), "14336M");
    assert_eq!(common::seastar_size_flag(ByteSize(0)), "0M");
}
