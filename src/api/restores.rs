//! `/api/v1/restores` (placeholder until the restore work lands).

pub fn routes(_cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {}
