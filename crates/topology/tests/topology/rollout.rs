//! Ring rollouts: the fleet reader, the plan's waves (ring order, bake times, batch sizes,
//! guardrails blocking a wave), the upgrade rules and the CI gate, over the example fleet
//! rendered for real and judged by the real guardrails.

use std::time::Duration;

use chrono::{DateTime, Utc};
use thinledger_policy::{InputSet, PolicySet, Severity};
use thinledger_tests::examples::workspace_root;
use thinledger_topology::render::{RenderOptions, Rendering};
use thinledger_topology::rollout::{
    self, BakeTimes, ChangeClass, CheckOptions, Component, FileResources, Fleet, GuardrailFinding,
    GuardrailSeverity, Inspect, InspectError, RolloutError, RolloutOptions, RolloutPlan,
    RolloutStatus, RunningVersion, Version, WaveState,
};
use thinledger_topology::{Ring, error_chain};

use super::*;

const TARGET: &str = "v25.3.1";

/// The tenant file's own resources, judged by `ledger-policy`'s built-in guardrails.
struct Guardrails(PolicySet);

impl Guardrails {
    fn builtin() -> Self {
        Guardrails(PolicySet::builtin().unwrap())
    }
}

impl Inspect for Guardrails {
    fn render(&self, yaml: &str, options: &RenderOptions) -> Result<Rendering, InspectError> {
        FileResources.render(yaml, options)
    }

    fn guardrails(
        &self,
        yaml: &str,
        renderings: &[Rendering],
    ) -> Result<Vec<GuardrailFinding>, InspectError> {
        let mut inputs = InputSet::new();
        inputs.add_yaml("tenant.yaml", yaml)?;
        for r in renderings {
            let docs = r.objects.iter().map(|o| o.to_json().unwrap()).collect();
            inputs.add_documents("rendering", docs)?;
        }
        Ok(self
            .0
            .evaluate(&inputs)?
            .findings
            .into_iter()
            .map(|f| {
                let severity = match f.severity {
                    Severity::Deny => GuardrailSeverity::Deny,
                    _ => GuardrailSeverity::Warn,
                };
                GuardrailFinding::new(severity, f.rule, f.resource, f.message)
            })
            .collect())
    }
}

fn fleet_dir() -> PathBuf {
    workspace_root().join("examples/fleet")
}

/// The example fleet's files as `(path, text)`, with `edit(path, text)` applied.
fn fleet_files(edit: impl Fn(&str, String) -> String) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for ring in Ring::ALL {
        let dir = fleet_dir().join(ring.as_str());
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for name in names {
            let path = format!("{ring}/{name}");
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            files.push((path.clone(), edit(&path, text)));
        }
    }
    files
}

fn example_fleet() -> Fleet {
    Fleet::read(&fleet_dir()).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Status observed at `2026-12-10T00:00Z` in which `tenants` run the target since `hours`
/// before.
fn status(tenants: &[(&str, u64)]) -> RolloutStatus {
    let now = at("2026-12-10T00:00:00Z");
    tenants
        .iter()
        .fold(RolloutStatus::new(now), |s, (id, hours)| {
            let since = now - chrono::Duration::hours(*hours as i64);
            s.with_running(
                *id,
                Component::Cockroachdb,
                RunningVersion::new(TARGET, since),
            )
        })
}

fn plan_with(fleet: &Fleet, options: &RolloutOptions) -> RolloutPlan {
    rollout::plan(fleet, TARGET, options, &Guardrails::builtin())
        .unwrap_or_else(|e| panic!("{}", error_chain(&e)))
}

fn rings(plan: &RolloutPlan) -> Vec<Ring> {
    plan.waves.iter().map(|w| w.ring).collect()
}

fn states(plan: &RolloutPlan) -> Vec<WaveState> {
    plan.waves.iter().map(|w| w.state).collect()
}

#[test]
fn the_example_fleet_has_five_tenants_in_three_rings() {
    let fleet = example_fleet();
    let ids: Vec<String> = fleet.tenants.iter().map(|t| t.id()).collect();
    assert_eq!(
        ids,
        [
            "fabrikam-prod",
            "contoso-prod",
            "tailspin-prod",
            "acme-bank-prod",
            "northwind-prod"
        ]
    );
    for ring in Ring::ALL {
        assert!(fleet.ring(ring).count() >= 1, "{ring}");
    }
}

#[rstest]
#[case::one_at_a_time(1, &[Ring::Canary, Ring::Early, Ring::Prod, Ring::Prod])]
#[case::pairs(2, &[Ring::Canary, Ring::Early, Ring::Prod])]
#[case::larger_than_production(9, &[Ring::Canary, Ring::Early, Ring::Prod])]
fn waves_go_canary_then_early_then_production_in_batches(
    #[case] batch: usize,
    #[case] expected: &[Ring],
) {
    let plan = plan_with(
        &example_fleet(),
        &RolloutOptions::default().with_batch(batch),
    );
    assert_eq!(rings(&plan), expected);
    let numbers: Vec<usize> = plan.waves.iter().map(|w| w.wave).collect();
    assert_eq!(numbers, (1..=expected.len()).collect::<Vec<_>>());
    for w in plan.waves.iter().filter(|w| w.ring == Ring::Prod) {
        assert!(w.tenants.len() <= batch, "wave {}", w.wave);
    }
    // Nothing runs the target yet: the canary may start, everything after it waits.
    assert_eq!(plan.waves[0].state, WaveState::Ready);
    for w in &plan.waves[1..] {
        assert_eq!(w.state, WaveState::Blocked, "wave {}", w.wave);
        assert!(
            w.blocked_by[0].contains(&format!("wave {} (", w.wave - 1))
                && w.blocked_by[0].contains("(target v25.3.1)"),
            "{:?}",
            w.blocked_by
        );
    }
}

#[test]
fn a_batch_of_zero_is_refused() {
    let err = rollout::plan(
        &example_fleet(),
        TARGET,
        &RolloutOptions::default().with_batch(0),
        &FileResources,
    )
    .unwrap_err();
    assert!(err.to_string().contains("batch = 0"), "{err}");
}

#[rstest]
// The canary runs the target: it is done, and early may start once the canary has baked.
#[case::canary_baked(&[("fabrikam-prod", 30)], None, [WaveState::Done, WaveState::Ready, WaveState::Blocked])]
#[case::canary_baking(&[("fabrikam-prod", 5)], None, [WaveState::Done, WaveState::Blocked, WaveState::Blocked])]
#[case::longer_bake(&[("fabrikam-prod", 30)], Some("ring-0-canary=2d"), [WaveState::Done, WaveState::Blocked, WaveState::Blocked])]
#[case::shorter_bake(&[("fabrikam-prod", 5)], Some("ring-0-canary=4h"), [WaveState::Done, WaveState::Ready, WaveState::Blocked])]
// Early runs it too, but has baked 10h of its 72h.
#[case::early_baking(&[("fabrikam-prod", 100), ("contoso-prod", 10), ("tailspin-prod", 10)], None, [WaveState::Done, WaveState::Done, WaveState::Blocked])]
#[case::early_baked(&[("fabrikam-prod", 200), ("contoso-prod", 80), ("tailspin-prod", 73)], None, [WaveState::Done, WaveState::Done, WaveState::Ready])]
// One early tenant behind: the early wave goes on, production waits.
#[case::early_half_done(&[("fabrikam-prod", 100), ("contoso-prod", 80)], None, [WaveState::Done, WaveState::Ready, WaveState::Blocked])]
fn a_ring_starts_when_the_ring_before_it_has_baked(
    #[case] running: &[(&str, u64)],
    #[case] bake: Option<&str>,
    #[case] expected: [WaveState; 3],
) {
    let mut bakes = BakeTimes::default();
    if let Some(b) = bake {
        bakes = bakes.with_setting(b).unwrap();
    }
    let options = RolloutOptions::default()
        .with_status(status(running))
        .with_bake(bakes)
        .with_batch(2);
    let plan = plan_with(&example_fleet(), &options);
    assert_eq!(states(&plan), expected, "{}", plan.to_table());
    for w in &plan.waves {
        assert_eq!(w.blocked_by.is_empty(), w.state != WaveState::Blocked);
    }
}

#[test]
fn a_bake_in_progress_says_how_long_of_how_long() {
    let options = RolloutOptions::default().with_status(status(&[("fabrikam-prod", 5)]));
    let plan = plan_with(&example_fleet(), &options);
    assert_eq!(
        plan.waves[1].blocked_by,
        ["fabrikam-prod (ring-0-canary) has run v25.3.1 for 5h of its 1d bake time"]
    );
    assert_eq!(
        plan.waves[0].tenants[0].baked,
        Some(Duration::from_secs(5 * 3600))
    );
}

#[rstest]
#[case::unknown_without_a_status_file(None, WaveState::Blocked)]
#[case::no_bake_needed(Some("ring-0-canary=0s"), WaveState::Ready)]
fn a_canary_pinning_the_target_without_status_bakes_for_an_unknown_time(
    #[case] bake: Option<&str>,
    #[case] early: WaveState,
) {
    let files = fleet_files(|path, text| {
        if path.starts_with("ring-0-canary") {
            text.replace("version: v25.2.4", "version: v25.3.1")
        } else {
            text
        }
    });
    let mut bakes = BakeTimes::default();
    if let Some(b) = bake {
        bakes = bakes.with_setting(b).unwrap();
    }
    let plan = plan_with(
        &Fleet::from_files(files).unwrap(),
        &RolloutOptions::default().with_bake(bakes),
    );
    assert_eq!(plan.waves[0].state, WaveState::Done);
    assert_eq!(plan.waves[0].tenants[0].change.class, ChangeClass::None);
    assert_eq!(plan.waves[1].state, early, "{:?}", plan.waves[1].blocked_by);
    if early == WaveState::Blocked {
        assert!(plan.waves[1].blocked_by[0].contains("no status file says since when"));
    }
}

#[rstest]
// An early tenant below production's 4 vCPU: its wave is blocked even after the canary baked.
#[case::early_tenant(
    "ring-1-early/tailspin.yaml",
    &[("fabrikam-prod", 30)],
    1,
    "tailspin-prod"
)]
// The canary itself: the first wave cannot start.
#[case::canary(
    "ring-0-canary/fabrikam.yaml",
    &[],
    0,
    "fabrikam-prod"
)]
fn a_failing_guardrail_blocks_its_wave(
    #[case] file: &str,
    #[case] running: &[(&str, u64)],
    #[case] wave: usize,
    #[case] tenant: &str,
) {
    let files = fleet_files(|path, text| {
        if path == file {
            text.replacen("cpu: 8", "cpu: 2", 1)
        } else {
            text
        }
    });
    let fleet = Fleet::from_files(files).unwrap();
    let plan = plan_with(
        &fleet,
        &RolloutOptions::default().with_status(status(running)),
    );
    let w = &plan.waves[wave];
    assert_eq!(w.state, WaveState::Blocked, "{}", plan.to_table());
    let step = w.tenants.iter().find(|s| s.tenant == tenant).unwrap();
    assert!(!step.guardrails.passed);
    assert!(
        step.guardrails
            .denials()
            .any(|d| d.rule == "sizing.min_vcpu"),
        "{:?}",
        step.guardrails
    );
    assert!(
        w.blocked_by
            .iter()
            .any(|r| r.starts_with(&format!("guardrail denies {tenant}: sizing.min_vcpu"))),
        "{:?}",
        w.blocked_by
    );
    // The same fleet without the guardrails: the wave is not blocked by them.
    let unguarded = rollout::plan(
        &fleet,
        TARGET,
        &RolloutOptions::default().with_status(status(running)),
        &FileResources,
    )
    .unwrap();
    assert!(
        unguarded.waves[wave]
            .blocked_by
            .iter()
            .all(|r| !r.contains("guardrail")),
    );
}

#[test]
fn every_tenant_shows_its_change_and_rendered_diff() {
    let plan = plan_with(&example_fleet(), &RolloutOptions::default());
    for step in plan.waves.iter().flat_map(|w| &w.tenants) {
        assert_eq!(step.change.from, "v25.2.4");
        assert_eq!(step.change.to, TARGET);
        assert_eq!(step.change.class, ChangeClass::Major);
        assert!(
            step.guardrails.passed,
            "{}: {:?}",
            step.tenant, step.guardrails
        );
        let diff = step.diff.as_ref().unwrap();
        // The image changes in the StatefulSet; the init Job is named by its inputs' hash.
        assert!(
            diff.changed.contains(&"StatefulSet/cockroachdb".to_owned()),
            "{}: {diff:?}",
            step.tenant
        );
        assert!(
            diff.added
                .iter()
                .any(|a| a.starts_with("Job/cockroachdb-init-")),
            "{diff:?}"
        );
        assert!(
            diff.removed
                .iter()
                .any(|a| a.starts_with("Job/cockroachdb-init-")),
            "{diff:?}"
        );
        assert!(diff.unchanged > 0);
    }
}

#[rstest]
#[case::patch(Component::Cockroachdb, "v25.2.4", "v25.2.6", Ok(ChangeClass::Patch))]
#[case::same(Component::Cockroachdb, "v25.2.4", "v25.2.4", Ok(ChangeClass::None))]
#[case::next_series(Component::Cockroachdb, "v25.2.4", "v25.3.1", Ok(ChangeClass::Major))]
#[case::next_year(Component::Cockroachdb, "v24.3.9", "v25.1.0", Ok(ChangeClass::Major))]
#[case::skip_innovation(Component::Cockroachdb, "v25.2.4", "v25.4.0", Ok(ChangeClass::Major))]
#[case::skip_innovation_across_years(
    Component::Cockroachdb,
    "v24.3.9",
    "v25.2.0",
    Ok(ChangeClass::Major)
)]
#[case::skip_regular(Component::Cockroachdb, "v25.1.4", "v25.3.0", Err("skips v25.2"))]
#[case::skip_a_year(
    Component::Cockroachdb,
    "v23.2.4",
    "v25.1.0",
    Err("skips at least one year")
)]
#[case::downgrade(Component::Cockroachdb, "v25.2.4", "v25.2.3", Err("never downgrades"))]
#[case::redpanda_next(Component::Redpanda, "v25.1.9", "v25.2.1", Ok(ChangeClass::Major))]
#[case::redpanda_no_innovation_skips(Component::Redpanda, "v24.1.9", "v24.3.1", Err("skips v24.2"))]
#[case::release_after_its_candidate(
    Component::Redpanda,
    "v25.2.1-rc1",
    "v25.2.1",
    Ok(ChangeClass::Patch)
)]
fn version_changes_are_classified_or_refused(
    #[case] component: Component,
    #[case] from: &str,
    #[case] to: &str,
    #[case] expected: Result<ChangeClass, &str>,
) {
    let from: Version = from.parse().unwrap();
    let to: Version = to.parse().unwrap();
    match (rollout::classify(component, &from, &to), expected) {
        (Ok(class), Ok(want)) => assert_eq!(class, want),
        (Err(refusal), Err(part)) => {
            let text = refusal.to_string();
            assert!(text.contains(part), "{text}");
            assert!(text.contains("Fix: "), "{text}");
        }
        (got, want) => panic!("{got:?}, expected {want:?}"),
    }
}

#[test]
fn a_plan_refuses_every_tenant_the_upgrade_rules_refuse() {
    let files = fleet_files(|path, text| {
        if path.starts_with("ring-2-prod") {
            text.replace("version: v25.2.4", "version: v25.4.0")
        } else {
            text
        }
    });
    let err = rollout::plan(
        &Fleet::from_files(files).unwrap(),
        TARGET,
        &RolloutOptions::default(),
        &FileResources,
    )
    .unwrap_err();
    let RolloutError::Refused(list) = &err else {
        panic!("{err}")
    };
    let ids: Vec<&str> = list.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["acme-bank-prod", "northwind-prod"]);
    assert!(
        err.to_string()
            .contains("v25.4.0 -> v25.3.1: a rollout never downgrades")
    );
}

#[rstest]
#[case::bad_version("v25.3", "vMAJOR.MINOR.PATCH")]
#[case::latest("latest", "vMAJOR.MINOR.PATCH")]
fn a_target_that_is_no_release_tag_is_refused(#[case] to: &str, #[case] part: &str) {
    let err = rollout::plan(
        &example_fleet(),
        to,
        &RolloutOptions::default(),
        &FileResources,
    )
    .unwrap_err();
    assert!(err.to_string().contains(part), "{err}");
}

#[test]
fn a_ring_folder_that_contradicts_the_tenant_names_both() {
    let files = fleet_files(|_, t| t).into_iter().map(|(path, text)| {
        let path = path.replace("ring-1-early/contoso", "ring-2-prod/contoso");
        (path, text)
    });
    let err = Fleet::from_files(files).unwrap_err().to_string();
    for part in [
        "ring-2-prod/contoso.yaml",
        "folder ring-2-prod",
        "ring: ring-1-early",
    ] {
        assert!(err.contains(part), "{err}");
    }
}

#[test]
fn a_tenant_described_twice_is_refused() {
    let mut files = fleet_files(|_, t| t);
    let copy = files[0].clone();
    files.push(("ring-0-canary/copy.yaml".to_owned(), copy.1));
    let err = Fleet::from_files(files).unwrap_err().to_string();
    assert!(
        err.contains("fabrikam-prod is already described by ring-0-canary/fabrikam.yaml"),
        "{err}"
    );
}

#[test]
fn one_folder_of_tenant_files_is_a_fleet_too() {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in fleet_files(|_, t| t) {
        let name = path.rsplit('/').next().unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::create_dir(dir.path().join("notes")).unwrap();
    std::fs::write(dir.path().join("notes/readme.yaml"), "not: a tenant").unwrap();
    let fleet = Fleet::read(dir.path()).unwrap();
    assert_eq!(fleet.tenants.len(), 5);
    assert_eq!(fleet.tenants[0].ring(), Ring::Canary);
    let empty = tempfile::tempdir().unwrap();
    let err = Fleet::read(empty.path()).unwrap_err();
    assert!(matches!(err, RolloutError::EmptyFleet { .. }), "{err}");
}

#[rstest]
#[case::example("", "tenants: {}")]
#[case::unknown_field("updated_at: 2026-12-01T00:00:00Z\nextra: 1", "unknown field")]
#[case::bad_time("updated_at: yesterday", "the status file is not valid")]
fn status_files_are_read_or_refused(#[case] text: &str, #[case] part: &str) {
    let text = if text.is_empty() {
        std::fs::read_to_string(workspace_root().join("examples/ci/rollout-status.yaml")).unwrap()
    } else {
        text.to_owned()
    };
    match RolloutStatus::from_yaml(&text) {
        Ok(status) => {
            assert!(part.starts_with("tenants"));
            let r = status
                .running("fabrikam-prod", Component::Cockroachdb)
                .unwrap();
            assert_eq!(r.version, TARGET);
            assert_eq!(status.baked(r), Duration::from_secs(48 * 3600));
        }
        Err(e) => assert!(e.to_string().contains(part), "{e}"),
    }
}

#[rstest]
#[case("24h", Some(86_400))]
#[case("1d12h", Some(129_600))]
#[case("90m", Some(5_400))]
#[case("0", Some(0))]
#[case("0s", Some(0))]
#[case("12", None)]
#[case("1w", None)]
#[case("", None)]
fn durations(#[case] text: &str, #[case] secs: Option<u64>) {
    assert_eq!(rollout::parse_duration(text), secs.map(Duration::from_secs));
    if let Some(s) = secs {
        let d = Duration::from_secs(s);
        assert_eq!(
            rollout::parse_duration(&rollout::format_duration(d)),
            Some(d)
        );
    }
}

/// The example fleet with `edit` applied to the file at `path`.
fn edited_fleet(path: &str, from: &str, to: &str) -> Fleet {
    Fleet::from_files(fleet_files(|p, text| {
        if p == path {
            assert!(text.contains(from), "{path}: {from}");
            text.replace(from, to)
        } else {
            text
        }
    }))
    .unwrap()
}

#[rstest]
#[case::canary_first("ring-0-canary/fabrikam.yaml", "version: v25.2.4", "version: v25.3.1", &[])]
#[case::early_before_canary("ring-1-early/contoso.yaml", "version: v25.2.4", "version: v25.3.1", &["rollout.ring_order"])]
#[case::prod_before_both("ring-2-prod/northwind.yaml", "version: v25.2.4", "version: v25.3.1", &["rollout.ring_order", "rollout.ring_order"])]
#[case::redpanda_too("ring-2-prod/northwind.yaml", "version: v25.1.9", "version: v25.2.1", &["rollout.ring_order", "rollout.ring_order"])]
#[case::downgrade("ring-0-canary/fabrikam.yaml", "version: v25.2.4", "version: v25.2.1", &["rollout.version"])]
#[case::other_fields_are_not_versions("ring-2-prod/northwind.yaml", "nodes: 3", "nodes: 5", &[])]
fn the_gate_refuses_a_later_ring_ahead_of_an_earlier_one(
    #[case] path: &str,
    #[case] from: &str,
    #[case] to: &str,
    #[case] rules: &[&str],
) {
    let head = edited_fleet(path, from, to);
    let result = rollout::check(&example_fleet(), &head, &CheckOptions::default());
    let got: Vec<&str> = result.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(got, rules, "{}", result.to_table());
    assert_eq!(result.passed, rules.is_empty());
    for f in &result.findings {
        assert!(path.ends_with(&format!("{}.yaml", f.tenant.trim_end_matches("-prod"))));
        assert!(!f.fix.is_empty());
    }
}

#[test]
fn the_gate_names_tenant_ring_versions_and_the_fix() {
    let head = edited_fleet(
        "ring-1-early/contoso.yaml",
        "version: v25.2.4",
        "version: v25.3.1",
    );
    let result = rollout::check(&example_fleet(), &head, &CheckOptions::default());
    let f = &result.findings[0];
    assert_eq!(f.tenant, "contoso-prod");
    assert_eq!(f.ring, Ring::Early);
    assert_eq!(
        (f.from.as_deref(), f.to.as_str()),
        (Some("v25.2.4"), TARGET)
    );
    assert_eq!(
        f.message,
        "contoso-prod (ring-1-early) moves cockroachdb v25.2.4 -> v25.3.1, but ring-0-canary \
         does not run it yet: fabrikam-prod runs v25.2.4"
    );
    assert!(
        f.fix.starts_with("roll v25.3.1 out to ring-0-canary first"),
        "{}",
        f.fix
    );
}

#[rstest]
// The canary runs the target (status), long enough: early may follow.
#[case::baked(48, &[])]
// Not long enough.
#[case::baking(5, &["rollout.bake"])]
fn with_a_status_file_the_earlier_ring_must_also_have_baked(
    #[case] hours: u64,
    #[case] rules: &[&str],
) {
    let base = edited_fleet(
        "ring-0-canary/fabrikam.yaml",
        "version: v25.2.4",
        "version: v25.3.1",
    );
    let head = Fleet::from_files(fleet_files(|p, text| {
        if p == "ring-0-canary/fabrikam.yaml" || p == "ring-1-early/contoso.yaml" {
            text.replace("version: v25.2.4", "version: v25.3.1")
        } else {
            text
        }
    }))
    .unwrap();
    let options = CheckOptions::default().with_status(status(&[("fabrikam-prod", hours)]));
    let result = rollout::check(&base, &head, &options);
    let got: Vec<&str> = result.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(got, rules, "{}", result.to_table());
    // Without the status file, the base fleet vouches for the canary: no bake is checked.
    assert!(rollout::check(&base, &head, &CheckOptions::default()).passed);
}

/// The plan's text and JSON for the example fleet with the example status file: the canary
/// has baked, early is ready, production waits.
#[test]
fn plan_snapshots() {
    let text =
        std::fs::read_to_string(workspace_root().join("examples/ci/rollout-status.yaml")).unwrap();
    let options = RolloutOptions::default().with_status(RolloutStatus::from_yaml(&text).unwrap());
    let plan = plan_with(&example_fleet(), &options);
    assert_eq!(
        states(&plan),
        [
            WaveState::Done,
            WaveState::Ready,
            WaveState::Blocked,
            WaveState::Blocked
        ]
    );
    insta::assert_snapshot!("rollout-plan-table", plan.to_table());
    // The diffs' object lists follow the renderer (their counts are in the table), and the
    // guardrails' warnings follow the policies: both are cut to their sizes here.
    let mut json = serde_json::to_value(&plan).unwrap();
    for wave in json["waves"].as_array_mut().unwrap() {
        for step in wave["tenants"].as_array_mut().unwrap() {
            for list in ["added", "changed", "removed"] {
                let n = step["diff"][list].as_array().map_or(0, Vec::len);
                step["diff"][list] = Value::from(format!("[{n} objects]"));
            }
            let n = step["guardrails"]["findings"]
                .as_array()
                .map_or(0, Vec::len);
            step["guardrails"]["findings"] = Value::from(format!("[{n} findings]"));
        }
    }
    insta::assert_json_snapshot!("rollout-plan-json", json);
}

#[test]
fn check_snapshot() {
    let head = edited_fleet(
        "ring-2-prod/acme-bank.yaml",
        "version: v25.2.4",
        "version: v25.3.1",
    );
    let result = rollout::check(&example_fleet(), &head, &CheckOptions::default());
    insta::assert_snapshot!("rollout-check-table", result.to_table());
}

/// A huge file in the fleet folder (a wrong path, a disk image) is refused without reading it
/// whole: 64 GiB sparse, so reading it would take minutes and all memory.
#[test]
fn a_huge_file_in_the_fleet_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.yaml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    let err = Fleet::read(dir.path()).unwrap_err().to_string();
    assert!(err.contains("huge.yaml") && err.contains("4 MiB"), "{err}");
}
