use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::{Services, Store};
use axum::Router;
use tokio::net::TcpListener;

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub bind_host: String,
    pub port: u16,
    /// How long in-flight requests may take to finish after a stop signal.
    pub drain_timeout: Duration,
}

/// A bound server: tests bind port 0 and read [`App::local_addr`].
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    drain_timeout: Duration,
}

impl App {
    pub async fn build<S: Store>(
        services: Arc<Services<S>>,
        config: &HttpConfig,
    ) -> std::io::Result<App> {
        let listener = TcpListener::bind((config.bind_host.as_str(), config.port)).await?;
        let addr = listener.local_addr()?;
        Ok(App {
            listener,
            router: crate::routes::router(services),
            addr,
            drain_timeout: config.drain_timeout,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve until `stop` resolves, then stop accepting and give in-flight
    /// requests up to the drain timeout.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let drain = self.drain_timeout;
        let server = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        let mut serving = tokio::spawn(async move { server.await });
        tokio::select! {
            res = &mut serving => return res.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            () = stop => {}
        }
        tracing::info!("stopping: draining in-flight requests");
        let _ = tx.send(());
        match tokio::time::timeout(drain, &mut serving).await {
            Ok(res) => res.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            Err(_) => {
                tracing::warn!(
                    seconds = drain.as_secs(),
                    "drain timeout reached; closing remaining connections"
                );
                serving.abort();
                Ok(())
            }
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
