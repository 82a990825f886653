//! Smoke test of the generated Rust client against a live server: lists the components, starts
//! a backup, waits for it to end, checks it succeeded and reads its report.
//! Environment: BM_URL (e.g. http://127.0.0.1:8080) and BM_TOKEN (an operator or admin token).

use std::time::{Duration, Instant};

use backup_master_client::apis::{backups_api, components_api, configuration::Configuration};
use backup_master_client::models::BackupStatus;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn env(name: &str) -> Res<String> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("rust smoke: FAILED: {e}");
        std::process::exit(1);
    }
    println!("rust smoke: ok");
}

async fn run() -> Res<()> {
    let config = Configuration {
        base_path: env("BM_URL")?.trim_end_matches('/').to_string(),
        bearer_access_token: Some(env("BM_TOKEN")?),
        ..Configuration::default()
    };

    let components = components_api::list_components(&config).await?;
    let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
    println!("components: {names:?}");
    if names.is_empty() {
        return Err("no components".into());
    }

    let started = backups_api::start_backup(&config).await?;
    println!("started backup {} ({})", started.id, started.status);

    let deadline = Instant::now() + Duration::from_secs(120);
    let record = loop {
        let r = backups_api::get_backup(&config, &started.id).await?;
        if r.status != BackupStatus::Running {
            break r;
        }
        if Instant::now() > deadline {
            return Err(format!("backup {} still running after 120 s", started.id).into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("backup {} ended: {}", record.id, record.status);
    if record.status != BackupStatus::Succeeded {
        return Err(format!("backup {} ended {}: {:?}", record.id, record.status, record.errors).into());
    }

    let report = backups_api::get_backup_report(&config, &record.id).await?;
    check_report(&report)?;
    println!("report: {} lines, ends as expected", report.lines().count());
    Ok(())
}

/// The report's last line is `Final completion date: ...`, preceded by
/// `The backup was completed successfully`.
fn check_report(report: &str) -> Res<()> {
    let lines: Vec<&str> = report.trim_end().lines().collect();
    let ok = lines.len() >= 2
        && lines[lines.len() - 1].starts_with("Final completion date: ")
        && lines[lines.len() - 2] == "The backup was completed successfully";
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected report ending:\n{report}").into())
    }
}
