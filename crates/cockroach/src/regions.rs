//! Region survival through CockroachDB's multi-region SQL: `SET PRIMARY REGION`, `ADD REGION`
//! and `SURVIVE REGION FAILURE` on each of the tenant's databases.
//!
//! A tenant with sites (`survival: region` or `provider`) has one database region per site,
//! named as the rendering names the nodes' `region=` tier (the site's region), the first site's
//! the primary one: the statements are the ones its init Job runs (a test in `ledger-backup`'s
//! CLI tests compares them with the rendered Job).
//!
//! CockroachDB's documentation advises against managing replication zones by hand
//! (`ALTER RANGE default CONFIGURE ZONE USING num_replicas = 5`): zone configs set that way
//! block `SET PRIMARY REGION` later, and they place replicas by count, not by region. A
//! multi-region database with the region survival goal gets five voting replicas spread so that
//! losing any one region leaves a majority, from the regions the nodes declare in their
//! `--locality` (`region=` tier). Every statement here is idempotent: setting the same primary
//! region again changes nothing, `ADD REGION IF NOT EXISTS` skips a region already added, and
//! the survival goal is a setting.

use std::fmt;

use serde::Serialize;
use thinledger_topology::{SurvivalGoal, Tenant};

use super::error::CockroachError;
use super::sql::{Ident, Rendered, SqlWriter};
use super::statement::Statement;
use thinledger_store::Invalid;

/// A region as CockroachDB names it: the value of the nodes' `--locality` `region=` tier,
/// written as a quoted identifier (`"us-east-1"`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RegionName(String);

impl RegionName {
    /// Checks a region name: 1–63 letters, digits, `-`, `_` and `.` (what a locality tier
    /// value holds; `,` and `=` would split the locality). Errors name `field`.
    pub fn new(field: &str, name: impl Into<String>) -> Result<Self, CockroachError> {
        let name = name.into();
        let ok = (1..=63).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if ok {
            Ok(RegionName(name))
        } else {
            Err(CockroachError::invalid(
                field,
                name.escape_debug().to_string(),
                "a region is 1-63 letters, digits, '-', '_' and '.', as in the nodes' --locality region= tier",
                "use the region names of the tenant file, e.g. us-east-1",
            ))
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn ident(&self) -> Ident {
        // Checked in `new`: never empty, no control characters.
        Ident::from_checked(self.0.clone())
    }
}

impl fmt::Display for RegionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a tenant's region survival covers. `Default`: the tenant's `cockroachdb.databases`,
/// its first region (first site) as the primary one, databases created when missing.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RegionSurvivalOptions {
    /// The databases to make multi-region (the survival goal is per database); empty: the
    /// tenant's `cockroachdb.databases`.
    pub databases: Vec<String>,
    /// The primary (home) region; default the tenant's first region (with sites: the first
    /// site's, the only one allowed).
    pub primary_region: Option<String>,
    /// Run `CREATE DATABASE IF NOT EXISTS` first, so a new cluster can be set up before the
    /// application starts (default true).
    pub create_databases: bool,
}

impl Default for RegionSurvivalOptions {
    fn default() -> Self {
        RegionSurvivalOptions {
            databases: Vec::new(),
            primary_region: None,
            create_databases: true,
        }
    }
}

impl RegionSurvivalOptions {
    /// These databases.
    pub fn with_databases<I, S>(mut self, databases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.databases = databases.into_iter().map(Into::into).collect();
        self
    }

    /// The primary region.
    pub fn with_primary_region(mut self, region: impl Into<String>) -> Self {
        self.primary_region = Some(region.into());
        self
    }

    /// Whether missing databases are created.
    pub fn with_create_databases(mut self, create: bool) -> Self {
        self.create_databases = create;
        self
    }
}

/// One statement of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegionStatement {
    /// `CREATE DATABASE IF NOT EXISTS "db"`.
    CreateDatabase {
        /// The database.
        database: Ident,
    },
    /// `ALTER DATABASE "db" SET PRIMARY REGION "r"`: makes the database multi-region (first
    /// time) or keeps the same home region (again).
    SetPrimaryRegion {
        /// The database.
        database: Ident,
        /// Its home region.
        region: RegionName,
    },
    /// `ALTER DATABASE "db" ADD REGION IF NOT EXISTS "r"`.
    AddRegion {
        /// The database.
        database: Ident,
        /// Another region.
        region: RegionName,
    },
    /// `ALTER DATABASE "db" SURVIVE REGION FAILURE` (at least three database regions).
    SurviveRegionFailure {
        /// The database.
        database: Ident,
    },
}

impl Statement for RegionStatement {
    fn render(&self) -> Rendered {
        let mut w = SqlWriter::new();
        match self {
            RegionStatement::CreateDatabase { database } => {
                w.push("CREATE DATABASE IF NOT EXISTS ").ident(database);
                w.finish("CREATE DATABASE")
            }
            RegionStatement::SetPrimaryRegion { database, region } => {
                w.push("ALTER DATABASE ")
                    .ident(database)
                    .push(" SET PRIMARY REGION ")
                    .ident(&region.ident());
                w.finish("ALTER DATABASE … SET PRIMARY REGION")
            }
            RegionStatement::AddRegion { database, region } => {
                w.push("ALTER DATABASE ")
                    .ident(database)
                    .push(" ADD REGION IF NOT EXISTS ")
                    .ident(&region.ident());
                w.finish("ALTER DATABASE … ADD REGION")
            }
            RegionStatement::SurviveRegionFailure { database } => {
                w.push("ALTER DATABASE ")
                    .ident(database)
                    .push(" SURVIVE REGION FAILURE");
                w.finish("ALTER DATABASE … SURVIVE REGION FAILURE")
            }
        }
    }
}

impl fmt::Display for RegionStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().display())
    }
}

/// `SHOW REGIONS FROM CLUSTER`: the regions the nodes declare, which every database region
/// must be one of. [`crate::CockroachClient::apply_region_survival`] checks them first.
pub const SHOW_CLUSTER_REGIONS: &str = "SELECT region FROM [SHOW REGIONS FROM CLUSTER]";

/// A tenant's region-survival statements, computed before anything runs: for each database,
/// (`CREATE DATABASE IF NOT EXISTS`,) `SET PRIMARY REGION`, `ADD REGION IF NOT EXISTS` for each
/// other region, `SURVIVE REGION FAILURE`. `Display` is the script, one statement a line.
#[derive(Clone, Debug)]
pub struct RegionSurvivalPlan {
    tenant: String,
    primary: RegionName,
    regions: Vec<RegionName>,
    statements: Vec<RegionStatement>,
    notes: Vec<String>,
}

impl RegionSurvivalPlan {
    /// The plan for a tenant whose survival goal is `region`, or (a tenant with sites) `region`
    /// or `provider`.
    ///
    /// The database regions are the `region=` tiers the rendering gives the nodes'
    /// `--locality`: the tenant's regions, or for a tenant with sites each site's region in the
    /// file's order, the first site's the primary one (it runs `cockroach init`, and its init
    /// Job runs these same statements). Each provider of a `provider`-survival tenant is one
    /// region, so surviving a region is surviving a provider. With no databases in the options,
    /// the tenant's `cockroachdb.databases` are taken.
    ///
    /// Refused (errors name the field, the value, the rule and the fix): another survival goal
    /// (`survival`), fewer than three regions (`regions`, `sites`), an invalid or unknown region
    /// (`regions[i].name`, `sites[i].region`, `options.primary_region`; with sites, a primary
    /// region other than the first site's), no or invalid database names
    /// (`options.databases`).
    pub fn for_tenant(
        tenant: &Tenant,
        options: &RegionSurvivalOptions,
    ) -> Result<Self, CockroachError> {
        let spec = tenant.spec();
        let sites = tenant.sites();
        let goal_ok = match spec.survival {
            SurvivalGoal::Region => true,
            SurvivalGoal::Provider => !sites.is_empty(),
            _ => false,
        };
        if !goal_ok {
            return Err(CockroachError::invalid(
                "survival",
                spec.survival.to_string(),
                "SURVIVE REGION FAILURE is for tenants whose survival goal is region (or provider, over sites: one region per provider)",
                "set survival: region (with at least three regions), or leave replication at CockroachDB's zone-survival default",
            ));
        }
        let (list, regions) = if sites.is_empty() {
            let regions = spec
                .regions
                .iter()
                .enumerate()
                .map(|(i, r)| RegionName::new(&format!("regions[{i}].name"), r.name.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            ("regions", regions)
        } else {
            let regions = sites
                .iter()
                .enumerate()
                .map(|(i, s)| RegionName::new(&format!("sites[{i}].region"), s.region()))
                .collect::<Result<Vec<_>, _>>()?;
            ("sites", regions)
        };
        if regions.len() < 3 {
            return Err(CockroachError::invalid(
                list,
                regions
                    .iter()
                    .map(RegionName::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                "surviving a region failure needs at least three database regions (CockroachDB refuses SURVIVE REGION FAILURE with fewer)",
                if sites.is_empty() {
                    "declare three or more regions, or set survival: zone"
                } else {
                    "declare sites in three or more regions, or set survival: zone"
                },
            ));
        }
        if !sites.is_empty()
            && let Some(name) = &options.primary_region
            && name != regions[0].as_str()
        {
            return Err(CockroachError::invalid(
                "options.primary_region",
                name.clone(),
                format!(
                    "a tenant with sites has its first site's region ({}) as the primary region: that site runs cockroach init, and its init Job sets the same primary region",
                    regions[0]
                ),
                "list the site of the home region first in the tenant file, or leave the primary region out",
            ));
        }
        let primary = match &options.primary_region {
            None => regions[0].clone(),
            Some(name) => {
                let region = RegionName::new("options.primary_region", name.clone())?;
                if !regions.contains(&region) {
                    return Err(CockroachError::invalid(
                        "options.primary_region",
                        name.clone(),
                        format!(
                            "the primary region is one of the tenant's regions ({})",
                            regions
                                .iter()
                                .map(RegionName::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        "name one of the tenant's regions",
                    ));
                }
                region
            }
        };
        let names = if options.databases.is_empty() {
            &spec.cockroachdb.databases
        } else {
            &options.databases
        };
        if names.is_empty() {
            return Err(CockroachError::invalid(
                "options.databases",
                "",
                "the survival goal is set per database: name at least one (or list them in the tenant's cockroachdb.databases)",
                "give the ledger's database, e.g. ledger",
            ));
        }
        let mut databases: Vec<Ident> = Vec::new();
        for name in names {
            let db = Ident::new("options.databases", name.clone())?;
            if ["system", "postgres"].contains(&name.as_str()) {
                return Err(CockroachError::invalid(
                    "options.databases",
                    name.clone(),
                    "the system databases are not the tenant's to make multi-region",
                    "name the application's databases",
                ));
            }
            if !databases.contains(&db) {
                databases.push(db);
            }
        }

        let mut statements = Vec::new();
        for database in &databases {
            if options.create_databases {
                statements.push(RegionStatement::CreateDatabase {
                    database: database.clone(),
                });
            }
            statements.push(RegionStatement::SetPrimaryRegion {
                database: database.clone(),
                region: primary.clone(),
            });
            for region in regions.iter().filter(|r| **r != primary) {
                statements.push(RegionStatement::AddRegion {
                    database: database.clone(),
                    region: region.clone(),
                });
            }
            statements.push(RegionStatement::SurviveRegionFailure {
                database: database.clone(),
            });
        }
        let mut notes = vec![
            format!(
                "every CockroachDB node must start with --locality region=<one of {}>: SHOW REGIONS FROM CLUSTER is checked before the statements run",
                regions
                    .iter()
                    .map(RegionName::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "SURVIVE REGION FAILURE keeps 5 voting replicas per range ({primary} holds 2 and the leaseholder), so any one region can be lost with a majority left; writes wait for a second region"
            ),
            "no replication zone is set by hand (ALTER … CONFIGURE ZONE): zone configs set that way block SET PRIMARY REGION, and CockroachDB's docs advise against them".to_owned(),
        ];
        if spec.survival == SurvivalGoal::Provider {
            let per_provider: Vec<String> = sites
                .iter()
                .map(|s| format!("{} = {}", s.provider(), s.region()))
                .collect();
            notes.push(format!(
                "survival provider: each provider is one region ({}), so losing a provider loses one region, which SURVIVE REGION FAILURE keeps to a minority of every range's replicas",
                per_provider.join(", ")
            ));
        }
        Ok(RegionSurvivalPlan {
            tenant: format!("{}-{}", spec.tenant, spec.environment),
            primary,
            regions,
            statements,
            notes,
        })
    }

    /// `<tenant>-<environment>`.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The home region.
    pub fn primary_region(&self) -> &RegionName {
        &self.primary
    }

    /// Every database region, the primary first as declared.
    pub fn regions(&self) -> &[RegionName] {
        &self.regions
    }

    /// The statements in the order they run.
    pub fn statements(&self) -> &[RegionStatement] {
        &self.statements
    }

    /// What the operator must know.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The statements as one SQL script (for `cockroach sql -e` or a file): no statement has
    /// a parameter, so the script is exactly what runs.
    pub fn script(&self) -> String {
        self.statements
            .iter()
            .map(|s| format!("{};\n", s.render().sql()))
            .collect()
    }

    /// A serialisable view for `--output json|yaml`.
    pub fn summary(&self) -> RegionSurvivalSummary {
        RegionSurvivalSummary {
            tenant: self.tenant.clone(),
            primary_region: self.primary.to_string(),
            regions: self.regions.iter().map(ToString::to_string).collect(),
            statements: self
                .statements
                .iter()
                .map(|s| s.render().sql().to_owned())
                .collect(),
            notes: self.notes.clone(),
        }
    }
}

impl fmt::Display for RegionSurvivalPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "-- region survival of {} (primary region {})",
            self.tenant, self.primary
        )?;
        f.write_str(&self.script())?;
        for note in &self.notes {
            writeln!(f, "-- note: {note}")?;
        }
        Ok(())
    }
}

/// The plan as data.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RegionSurvivalSummary {
    /// `<tenant>-<environment>`.
    pub tenant: String,
    /// The home region.
    pub primary_region: String,
    /// Every database region.
    pub regions: Vec<String>,
    /// The statements, in order.
    pub statements: Vec<String>,
    /// Notes.
    pub notes: Vec<String>,
}

/// The regions of `plan` missing from `cluster` (what `SHOW REGIONS FROM CLUSTER` listed), as
/// an error naming them and the fix; `Ok` when every region is there.
pub(crate) fn check_cluster_regions(
    plan: &RegionSurvivalPlan,
    cluster: &[String],
) -> Result<(), CockroachError> {
    let missing: Vec<&str> = plan
        .regions
        .iter()
        .map(RegionName::as_str)
        .filter(|r| !cluster.iter().any(|c| c == r))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(CockroachError::invalid(
        "regions",
        missing.join(", "),
        format!(
            "a database region must be a cluster region, and the nodes declare only: {}",
            if cluster.is_empty() {
                "none".to_owned()
            } else {
                cluster.join(", ")
            }
        ),
        "start every node with --locality region=<its region>,zone=<its zone> (the rendering sets it), or correct the tenant's region names",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("us-east-1")]
    #[case("eastus")]
    #[case("dc_frankfurt.rack1")]
    fn region_names(#[case] name: &str) {
        assert_eq!(RegionName::new("r", name).unwrap().as_str(), name);
    }

    #[rstest]
    #[case("")]
    #[case("us east")]
    #[case("region=us")]
    #[case("a,b")]
    #[case("us\"-east")]
    fn bad_region_names(#[case] name: &str) {
        let e = RegionName::new("regions[0].name", name)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("regions[0].name:"), "{e}");
    }
}
