//! Flags of `ledger-size` and their translation into a sizing spec and options.

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use thinledger_cli::{
    EXIT_BAD_INPUT, EXIT_OK, GlobalArgs, OutputArgs, ToolCommand, exit_codes_help,
};
use thinledger_sizing::{
    DaemonsetOverhead, MemoryShare, NodeShapeSpec, SizingOptions, SizingSpec, WorkloadSpec,
};
use thinledger_topology::{ByteSize, Cpu, Locality, Provider, SurvivalGoal, Tier};

const EXAMPLES: &str = "\
Examples:
  # Check and complete a node shape
  ledger-size --provider aws --tier prod --vcpu 8 --memory 32GiB
  ledger-size --provider azure --tier prod --vcpu 8 --memory 32Gi --output json

  # Derive nodes and disks from a workload (6 TiB growing 40% a year for 3 years, surviving a region)
  ledger-size --provider gcp --tier prod --data 6TiB --growth 40% --survive region
  ledger-size --provider aws --data 800GiB --growth 25% --horizon 5 --write-rate 20MiB/s \\
      --regions eu-west-1 --zones eu-west-1a,eu-west-1b,eu-west-1c

  # One ledger over AWS, Azure and on-prem that survives the loss of a whole provider (2/2/1)
  ledger-size --provider aws --tier prod --vcpu 8 --memory 32GiB --nodes 5 --survive provider \\
      --providers aws,azure,onprem

  # The whole plan as YAML, or a paste-ready fragment of it
  ledger-size --provider aws --vcpu 8 --memory 32GiB --output yaml
  ledger-size --provider aws --vcpu 8 --memory 32GiB --fragment helm          # cockroachdb Helm values
  ledger-size --provider aws --vcpu 8 --memory 32GiB --fragment crdb-cluster  # CrdbCluster spec
  ledger-size --provider aws --vcpu 8 --memory 32GiB --fragment redpanda      # redpanda Helm values

  # Shell completion and the man page
  ledger-size completion bash > ~/.local/share/bash-completion/completions/ledger-size
  ledger-size man | man -l -

Quantities are Kubernetes-style: 32Gi, 32GiB, 32768Mi, 6TiB, 500G; CPUs 4 or 4000m (whole CPUs only).
Each has an upper bound far beyond real machines (1024 vCPU and 64Ti per node, 1Pi disks, 16Pi of data,
1Ti/s, 999 nodes or brokers, 87600h retention, 30 years); a larger value is refused (exit 2).
Without --regions/--zones, placements use a placeholder locality per provider (AWS us-east-1 a/b/c,
Azure eastus 1/2/3, GCP us-central1 a/b/c, on-prem dc-1; three regions for --survive region); with
--providers, one such site per provider, the nodes spread over them in order.

A refused size exits 2; the error names the rule and the fix.";

/// Flags of `ledger-size`.
#[derive(Debug, Parser)]
#[command(
    name = "ledger-size",
    about = "Size a thin ledger: CockroachDB and Redpanda nodes, flags, disks and instance types, with every rule explained",
    after_help = format!("{EXAMPLES}\n\n{}", exit_codes_help(&[EXIT_OK, EXIT_BAD_INPUT])),
    // `ledger-size completion bash` needs no --provider
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true
)]
pub struct Args {
    #[command(subcommand)]
    pub tool: Option<ToolCommand>,
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// Where the ledger runs: aws, azure, gcp or onprem.
    #[arg(long, required = true, value_parser = parsed::<Provider>)]
    pub provider: Option<Provider>,
    /// dev, staging or prod (production rules at full strength).
    #[arg(long, value_parser = parsed::<Tier>, default_value = "prod")]
    pub tier: Tier,

    /// vCPU per CockroachDB node (whole CPUs: 8 or 8000m). With --memory: node-shape mode.
    #[arg(long, value_parser = parsed::<Cpu>, help_heading = "Node shape")]
    pub vcpu: Option<Cpu>,
    /// Memory per CockroachDB node (32GiB, 32Gi, 32768Mi).
    #[arg(long, value_parser = parsed::<ByteSize>, help_heading = "Node shape")]
    pub memory: Option<ByteSize>,
    /// CockroachDB node count (odd, at least 3); default the fewest that fit.
    #[arg(long, help_heading = "Node shape")]
    pub nodes: Option<u32>,

    /// Logical data today, before replication (6TiB). Selects workload mode.
    #[arg(long, value_parser = parsed::<ByteSize>, help_heading = "Workload")]
    pub data: Option<ByteSize>,
    /// Yearly growth, compounded (40% or 40).
    #[arg(long, value_parser = parse_percent, requires = "data", help_heading = "Workload")]
    pub growth: Option<f64>,
    /// Years the disks must last.
    #[arg(long, requires = "data", help_heading = "Workload")]
    pub horizon: Option<u32>,
    /// Peak logical writes per second (20MiB/s); raises disk throughput and sizes Redpanda.
    #[arg(long, value_parser = parse_rate, requires = "data", help_heading = "Workload")]
    pub write_rate: Option<ByteSize>,
    /// What the cluster must survive: zone (replication factor 3), region (5, across 3+
    /// regions) or provider (5, across 3+ providers: give --providers).
    #[arg(long, value_parser = parsed::<SurvivalGoal>, default_value = "zone", help_heading = "Workload")]
    pub survive: SurvivalGoal,

    /// Regions, comma-separated (eu-west-1,eu-central-1,eu-north-1).
    #[arg(long, value_delimiter = ',', help_heading = "Placement")]
    pub regions: Vec<String>,
    /// Zones, comma-separated, as nodes are labelled (eu-west-1a; Azure 1,2,3); with several
    /// regions a zone goes to the region it starts with, or write region/zone.
    #[arg(
        long,
        value_delimiter = ',',
        requires = "regions",
        help_heading = "Placement"
    )]
    pub zones: Vec<String>,

    /// Providers the ledger spreads over, comma-separated, --provider's first
    /// (aws,azure,onprem): one site each (its placeholder region and zones), the nodes spread
    /// as evenly as possible over them, each provider a failure domain.
    #[arg(
        long,
        value_delimiter = ',',
        value_parser = parsed::<Provider>,
        conflicts_with = "regions",
        help_heading = "Placement"
    )]
    pub providers: Vec<Provider>,

    /// Storage class for data volumes (default: the provider's first, e.g. gp3).
    #[arg(long, help_heading = "Storage")]
    pub storage_class: Option<String>,
    /// Disk per CockroachDB node instead of the computed size.
    #[arg(long, value_parser = parsed::<ByteSize>, help_heading = "Storage")]
    pub disk: Option<ByteSize>,
    /// Fullest a disk may be at the horizon, percent.
    #[arg(long, value_parser = parse_whole_percent, default_value = "60%", help_heading = "Storage")]
    pub disk_fill: u32,
    /// Disk bytes written per logical byte written.
    #[arg(long, default_value_t = 3, help_heading = "Storage")]
    pub write_amplification: u32,

    /// --cache instead of 25% of the memory limit (30% or 10GiB).
    #[arg(long, value_parser = parsed::<MemoryShare>, help_heading = "CockroachDB memory")]
    pub cache: Option<MemoryShare>,
    /// --max-sql-memory instead of 25% of the memory limit (2 × max-sql-memory + cache ≤ 80%).
    #[arg(long, value_parser = parsed::<MemoryShare>, help_heading = "CockroachDB memory")]
    pub max_sql_memory: Option<MemoryShare>,

    /// Redpanda brokers (odd, at least 3).
    #[arg(long, help_heading = "Redpanda")]
    pub redpanda_brokers: Option<u32>,
    /// Cores per broker (even and at least 4 in prod).
    #[arg(long, help_heading = "Redpanda")]
    pub redpanda_cores: Option<u32>,
    /// Memory per broker (at least 2 GiB per core; default 4 GiB per core, 2 in dev).
    #[arg(long, value_parser = parsed::<ByteSize>, help_heading = "Redpanda")]
    pub redpanda_memory: Option<ByteSize>,
    /// Event stream ingest per second (default: --write-rate).
    #[arg(long, value_parser = parse_rate, help_heading = "Redpanda")]
    pub redpanda_ingest: Option<ByteSize>,
    /// How long brokers keep events (168h, 7d).
    #[arg(long, value_parser = parse_hours, default_value = "168h", help_heading = "Redpanda")]
    pub redpanda_retention: u32,
    /// Disk per broker instead of the computed size.
    #[arg(long, value_parser = parsed::<ByteSize>, help_heading = "Redpanda")]
    pub redpanda_disk: Option<ByteSize>,

    /// CPU the node's daemonsets request (CNI, kube-proxy, CSI, agents).
    #[arg(long, value_parser = parsed::<Cpu>, default_value = "500m", help_heading = "Node reserve")]
    pub daemonset_cpu: Cpu,
    /// Memory the node's daemonsets request.
    #[arg(long, value_parser = parsed::<ByteSize>, default_value = "1Gi", help_heading = "Node reserve")]
    pub daemonset_memory: ByteSize,

    /// Print a paste-ready fragment of the plan instead of the plan: YAML with a comment
    /// header (JSON with --output json).
    #[arg(long, value_enum, value_name = "FRAGMENT")]
    pub fragment: Option<Fragment>,
}

/// What `--fragment` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fragment {
    /// Values for the cockroachdb Helm chart (statefulset.*, conf.*, storage.persistentVolume.*).
    Helm,
    /// The CrdbCluster spec keys (nodes, resources, cache, maxSQLMemory, dataStore.pvc.spec).
    CrdbCluster,
    /// Values for the redpanda Helm chart (statefulset.replicas, resources.*, storage.*).
    Redpanda,
}

impl Args {
    /// `--provider` (required unless a subcommand is given).
    pub fn provider(&self) -> anyhow::Result<Provider> {
        self.provider
            .ok_or_else(|| thinledger_cli::bad("--provider is required: aws, azure, gcp or onprem"))
    }

    /// The spec: workload mode when `--data` is given, node-shape mode otherwise.
    pub fn spec(&self) -> anyhow::Result<SizingSpec> {
        if let Some(data) = self.data {
            let mut spec = WorkloadSpec::new(data);
            spec.growth_percent_per_year = self.growth.unwrap_or(0.0);
            spec.horizon_years = self.horizon.unwrap_or(WorkloadSpec::DEFAULT_HORIZON_YEARS);
            spec.write_rate_per_second = self.write_rate;
            spec.survival = self.survive;
            spec.vcpu = self.vcpu;
            spec.memory = self.memory;
            spec.nodes = self.nodes;
            return Ok(spec.into());
        }
        let (Some(vcpu), Some(memory)) = (self.vcpu, self.memory) else {
            bail!(
                "nothing to size: give a node shape (--vcpu and --memory) or a workload (--data, \
                 with --growth, --horizon, --write-rate, --survive)"
            );
        };
        let mut spec = NodeShapeSpec::new(vcpu, memory);
        spec.nodes = self.nodes;
        spec.survival = self.survive;
        Ok(spec.into())
    }

    /// The options.
    pub fn options(&self) -> anyhow::Result<SizingOptions> {
        let locality = if self.regions.is_empty() {
            None
        } else {
            Some(
                Locality::from_names(self.provider()?, &self.regions, &self.zones)
                    .context("--regions/--zones")?,
            )
        };
        let sites = if self.providers.is_empty() {
            Vec::new()
        } else {
            let provider = self.provider()?;
            if self.providers.first() != Some(&provider) {
                return Err(thinledger_cli::bad(format!(
                    "--providers {}: the first provider is --provider's ({provider}), whose disks and instance types are sized; list it first",
                    self.providers
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                )));
            }
            thinledger_sizing::default_sites(&self.providers).context("--providers")?
        };
        let mut options = SizingOptions::default()
            .with_sites(sites)
            .with_disk_utilisation_percent(self.disk_fill)
            .with_write_amplification(self.write_amplification)
            .with_daemonsets(DaemonsetOverhead::new(
                self.daemonset_cpu,
                self.daemonset_memory,
            ));
        options.locality = locality;
        options.storage_class = self.storage_class.clone();
        options.disk = self.disk;
        options.cache = self.cache;
        options.max_sql_memory = self.max_sql_memory;
        let rp = &mut options.redpanda;
        rp.brokers = self.redpanda_brokers;
        rp.cores = self.redpanda_cores;
        rp.memory = self.redpanda_memory;
        rp.ingest_per_second = self.redpanda_ingest;
        rp.retention_hours = self.redpanda_retention;
        rp.disk = self.redpanda_disk;
        Ok(options)
    }
}

/// Any of the model's quantities and names (`Provider`, `Tier`, `Cpu`, `ByteSize`…), with
/// its own error message.
fn parsed<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| format!("{e}"))
}

/// A byte rate: a size with an optional `/s` (`20MiB/s`, `20MB/s`, `20MiB`).
fn parse_rate(s: &str) -> Result<ByteSize, String> {
    let text = s.trim();
    let size = text
        .strip_suffix("/s")
        .or_else(|| text.strip_suffix("ps"))
        .unwrap_or(text);
    size.parse::<ByteSize>()
        .map_err(|e| format!("rate {s:?}: {e} (a size per second, e.g. 20MiB/s)"))
}

/// A percentage: `40%` or `40` (fractions allowed: `12.5%`).
fn parse_percent(s: &str) -> Result<f64, String> {
    let text = s.trim();
    let number = text.strip_suffix('%').unwrap_or(text).trim();
    number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("percentage {s:?}: write e.g. 40% or 12.5"))
}

fn parse_whole_percent(s: &str) -> Result<u32, String> {
    let value = parse_percent(s)?;
    if value.fract() != 0.0 || !(0.0..=100.0).contains(&value) {
        return Err(format!("percentage {s:?}: a whole number from 0% to 100%"));
    }
    Ok(value as u32)
}

/// Hours: `168`, `168h` or `7d`.
fn parse_hours(s: &str) -> Result<u32, String> {
    let text = s.trim();
    let (number, factor) = if let Some(days) = text.strip_suffix('d') {
        (days, 24)
    } else {
        (text.strip_suffix('h').unwrap_or(text), 1)
    };
    number
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|&h| h > 0)
        .ok_or_else(|| format!("duration {s:?}: write hours or days, e.g. 168h or 7d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_percentages_and_hours_parse() {
        assert_eq!(parse_rate("20MiB/s").unwrap(), ByteSize::mib(20));
        assert_eq!(parse_rate("5MB").unwrap(), ByteSize(5_000_000));
        assert!(parse_rate("fast").unwrap_err().contains("\"fast\""));
        assert_eq!(parse_percent("40%").unwrap(), 40.0);
        assert_eq!(parse_percent("12.5").unwrap(), 12.5);
        assert!(parse_percent("forty").is_err());
        assert_eq!(parse_whole_percent("60%").unwrap(), 60);
        assert!(parse_whole_percent("60.5%").is_err());
        assert_eq!(parse_hours("7d").unwrap(), 168);
        assert_eq!(parse_hours("36h").unwrap(), 36);
        assert!(parse_hours("0").is_err());
    }

    #[test]
    fn flags_are_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
