//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

/// The process is up and answering.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready to serve: the database takes writes and the master key is loaded (it is, or we would
/// not have started: a wrong key is refused at start).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = crate::db::is_writable(&state.db).await;
    let body = json!({
        "status": if database { "ready" } else { "unavailable" },
        "database": database,
        "key_id": state.keyring.sealing_key_id(),
    });
    if database {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
