//! `aoc simulate`: the Microsoft 365 simulator alone, for demos and tests.

use aoc_simulator::{FaultKind, NotifyTarget, Simulator, SimulatorConfig};

use crate::cli::SimulateArgs;
use crate::config::ConfigError;

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let listen: std::net::SocketAddr = args.listen.trim().parse().map_err(|_| {
        ConfigError::option(
            "listen",
            format!("invalid value {:?}: expected ADDRESS:PORT", args.listen),
        )
    })?;
    let seed: u64 = args.seed.trim().parse().map_err(|_| {
        ConfigError::option(
            "seed",
            format!("invalid value {:?}: expected a whole number", args.seed),
        )
    })?;
    let rate = match args.faults.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => r,
        _ => {
            return Err(ConfigError::option(
                "faults",
                format!(
                    "invalid value {:?}: expected a share of requests from 0 to 1",
                    args.faults
                ),
            )
            .into());
        }
    };
    let kinds = match &args.fault_kinds {
        Some(list) => FaultKind::parse_list(list)
            .map_err(|e| ConfigError::option("fault-kinds", e.to_string()))?,
        None => FaultKind::all(),
    };
    let records_per_hour = match args.records_per_hour.trim().parse::<u32>() {
        Ok(n) if (1..=100_000).contains(&n) => n,
        _ => {
            return Err(ConfigError::option(
                "records-per-hour",
                format!(
                    "invalid value {:?}: expected 1 to 100000",
                    args.records_per_hour
                ),
            )
            .into());
        }
    };
    let notify = match (
        &args.notify_url,
        &args.notify_client_state,
        &args.notify_tenant,
    ) {
        (None, _, _) => None,
        (Some(url), Some(state), Some(tenant)) => Some(NotifyTarget {
            url: url.clone(),
            client_state: state.clone(),
            tenant: tenant.clone(),
        }),
        (Some(_), _, _) => {
            return Err(ConfigError::option(
                "notify-url",
                "needs --notify-client-state and --notify-tenant too",
            )
            .into());
        }
    };
    let mut config = SimulatorConfig {
        seed,
        records_per_hour,
        required_client_secret: args.client_secret.clone(),
        notify,
        ..SimulatorConfig::default()
    };
    config.faults.rate = rate;
    config.faults.kinds = kinds;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        ConfigError::option("listen", format!("{listen} cannot be listened on ({e})"))
    })?;
    let address = listener.local_addr()?;
    tracing::info!(
        url = %format!("http://{address}"),
        seed,
        faults = rate,
        "Microsoft 365 simulator listening: point LOGIN_BASE_URL, GRAPH_BASE_URL and MANAGEMENT_BASE_URL here"
    );
    // Tests and scripts read the address from standard output.
    println!("listening on http://{address}");
    Simulator::new(config)
        .serve(listener, super::serve::shutdown_signal())
        .await?;
    Ok(())
}
