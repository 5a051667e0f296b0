//! The one way routes are registered: every path answers with and without
//! its trailing slash, as Label Studio's do.

use axum::Router;
use axum::routing::MethodRouter;

/// `path` and `path/`, both routed to `route`.
pub(crate) fn both<St: Clone + Send + Sync + 'static>(
    router: Router<St>,
    path: &str,
    route: MethodRouter<St>,
) -> Router<St> {
    router
        .route(path, route.clone())
        .route(&format!("{path}/"), route)
}
