//! The composition on the example tenants and on tenants the calculator or renderer refuses.

use thinledger_topology::Tenant;

use super::*;

const AWS: &str = include_str!("../../../../examples/tenants/aws.yaml");

#[test]
fn the_example_tenant_sizes_to_its_own_storage_class() {
    let tenant = Tenant::from_yaml(AWS).unwrap();
    let sized = size_tenant(&tenant).unwrap();
    assert_eq!(sized.cockroachdb.disk.storage_class, "gp3");
    assert_eq!(sized.redpanda.brokers, 3);
}

#[test]
fn a_tenant_without_shape_or_workload_is_refused_with_the_fix() {
    let yaml = AWS.replace(
        "  resources:                 # per node; sizing checks them against the production rules\n    cpu: 8\n    memory: 32Gi\n    disk: 1Ti\n",
        "",
    );
    assert_ne!(yaml, AWS);
    let tenant = Tenant::from_yaml(&yaml).unwrap();
    let err = size_tenant(&tenant).unwrap_err();
    assert_eq!(err, TenantPlanError::NothingToSize);
    assert_eq!(err.field(), Some("cockroachdb.resources"));
    assert!(err.to_string().contains("Fix: add resources:"), "{err}");
}

#[test]
fn a_refusal_of_the_calculator_names_the_tenant_and_keeps_the_rule() {
    let yaml = AWS.replace(
        "    cpu: 8\n    memory: 32Gi",
        "    cpu: 2\n    memory: 8Gi",
    );
    let tenant = Tenant::from_yaml(&yaml).unwrap();
    let err = size_tenant(&tenant).unwrap_err();
    assert!(matches!(err, TenantPlanError::Sizing { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("refused tenant acme-bank (aws prod)"),
        "{err}"
    );
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("at least 4 vCPU"), "{source}");
}

#[cfg(feature = "render")]
mod render {
    use thinledger_topology::render::{CockroachMode, RenderOptions};

    use super::AWS;
    use crate::tenant::*;

    #[test]
    fn a_broker_count_the_calculator_changes_is_refused() {
        let tenant = thinledger_topology::Tenant::from_yaml(AWS).unwrap();
        let mut sized = size_tenant(&tenant).unwrap();
        sized.redpanda.brokers = 5;
        let err = resource_plan(&tenant, &sized).unwrap_err();
        assert_eq!(
            err.to_string(),
            "redpanda.brokers = 3: the sizing calculator chose 5 brokers. Fix: set redpanda.brokers: 5"
        );
    }

    /// A tenant with sites is sized site by site: each on its own provider and storage class,
    /// the node shape and count the tenant's; every site renders with its own resources.
    #[test]
    fn each_site_is_sized_for_its_provider() {
        let yaml = include_str!("../../../../examples/tenants/multi-cloud.yaml");
        let (plan, sites) = render_tenant_sites(
            yaml,
            ResourceSource::Sizing,
            &RenderOptions::new(CockroachMode::StatefulSet),
        )
        .unwrap();
        let classes: Vec<(&str, String, u32)> = plan
            .sites
            .iter()
            .map(|s| {
                let sized = s.sizing.as_ref().unwrap();
                (
                    s.site.as_str(),
                    sized.cockroachdb.disk.storage_class.clone(),
                    s.resources.cockroach.nodes,
                )
            })
            .collect();
        assert_eq!(
            classes,
            [
                ("aws-use1", "gp3".to_owned(), 5),
                ("azure-eastus", "managed-csi-premium-zrs".to_owned(), 5),
                ("onprem-fra", "csi-ceph".to_owned(), 5),
            ]
        );
        assert_eq!(plan.resources, plan.sites[0].resources);
        assert_eq!(sites.len(), 3);
        for (site, plan) in sites.iter().zip(&plan.sites) {
            assert_eq!(site.site, plan.site);
            let sts = site.rendering.find("StatefulSet", "cockroachdb").unwrap();
            let json = sts.to_json().unwrap();
            let memory =
                &json["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"];
            assert_eq!(memory, &plan.resources.cockroach.memory.to_quantity());
        }
    }

    #[test]
    fn both_resource_sources_render_the_example() {
        for source in [ResourceSource::Sizing, ResourceSource::Tenant] {
            let plan = plan_tenant(AWS, source).unwrap();
            assert_eq!(plan.sizing.is_some(), source == ResourceSource::Sizing);
            let rendering = plan
                .render(&RenderOptions::new(CockroachMode::StatefulSet))
                .unwrap();
            assert!(!rendering.objects.is_empty());
        }
    }

    #[test]
    fn notes_are_given_once() {
        let plan = plan_tenant(AWS, ResourceSource::Sizing).unwrap();
        let mut unique = plan.notes.clone();
        unique.dedup();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), plan.notes.len());
    }

    #[test]
    fn the_check_reports_syntax_errors_as_bad_input() {
        let check = check_tenant(
            "tenant: x\n",
            ResourceSource::Sizing,
            &RenderOptions::default(),
        );
        assert!(check.bad_input && !check.ok());
        assert_eq!(check.findings[0].line, Some(1));
        assert!(
            check.findings[0]
                .message
                .contains("missing field `environment`"),
            "{:?}",
            check.findings
        );
    }

    #[test]
    fn the_check_counts_the_objects_of_a_good_tenant() {
        let check = check_tenant(AWS, ResourceSource::Sizing, &RenderOptions::default());
        assert!(check.ok(), "{check:?}");
        assert_eq!(check.tenant.as_deref(), Some("acme-bank"));
        assert!(check.objects.is_some_and(|n| n > 10));
    }

    #[test]
    fn the_check_keeps_a_refusal_of_sizing_apart_from_the_findings() {
        let yaml = AWS.replace(
            "    cpu: 8\n    memory: 32Gi",
            "    cpu: 2\n    memory: 8Gi",
        );
        let check = check_tenant(&yaml, ResourceSource::Sizing, &RenderOptions::default());
        assert!(!check.ok() && !check.bad_input);
        assert!(check.findings.is_empty());
        assert!(matches!(
            check.failure,
            Some(TenantPlanError::Sizing { .. })
        ));
    }
}

#[test]
fn a_class_the_calculator_keeps_short_of_the_performance_is_a_warning() {
    // 64 vCPU need 32,000 IOPS, more than gp3 provisions; the tenant named gp3, so the plan
    // keeps it and warns instead of moving to io2.
    let yaml = AWS.replace(
        "    cpu: 8\n    memory: 32Gi",
        "    cpu: 64\n    memory: 256Gi",
    );
    let sized = size_tenant(&Tenant::from_yaml(&yaml).unwrap()).unwrap();
    assert_eq!(sized.cockroachdb.disk.storage_class, "gp3");
    assert!(
        sized
            .warnings
            .iter()
            .any(|w| w.contains("short of the 32000 IOPS")),
        "{:?}",
        sized.warnings
    );
}

#[test]
fn a_storage_class_refusal_names_the_field_the_value_and_the_fix() {
    let err = TenantPlanError::StorageClass {
        declared: "gp3".to_owned(),
        required: "io2".to_owned(),
    };
    assert_eq!(err.field(), Some("storage.class"));
    assert_eq!(
        err.to_string(),
        "storage.class = \"gp3\": the sizing calculator needs \"io2\" to deliver the required IOPS and throughput. Fix: set storage.class: io2"
    );
}
