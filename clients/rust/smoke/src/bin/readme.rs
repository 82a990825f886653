//! The README's Rust snippet, verbatim (the server's tests/readme.rs checks that they are the
//! same), so that `clients/smoke.sh` builds it: on the embedded default, start a backup, wait
//! for it to end, print its report. Run it in the folder the server was started in.

use std::time::Duration;

use backup_master_client::apis::{backups_api, configuration::Configuration};
use backup_master_client::models::BackupStatus;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = std::fs::read_to_string("backup-master-data/admin.token")?;
    let config = Configuration {
        base_path: "http://127.0.0.1:8080".into(),
        bearer_access_token: Some(token.trim().to_string()),
        ..Configuration::default()
    };
    // 202: a BackupRecord; 409 (a job runs) is an Err
    let mut record = backups_api::start_backup(&config).await?;
    while record.status == BackupStatus::Running {
        tokio::time::sleep(Duration::from_secs(1)).await; // poll until it ends
        record = backups_api::get_backup(&config, &record.id).await?;
    }
    println!("{} {}", record.id, record.status);
    println!("{}", backups_api::get_backup_report(&config, &record.id).await?);
    Ok(())
}
