//! `/api/v1/backup-sets` (placeholder until the backup-sets work lands).

pub fn routes(_cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {}
