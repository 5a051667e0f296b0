use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::{Services, Store};
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::ApiError;
use crate::connections::{Admission, Connections, REFUSAL};
use crate::state::{AppState, PublicUrl};

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub bind_host: String,
    pub port: u16,
    /// The public URL (links, the same-origin check, cookie flags); `None`:
    /// `http://<bind_host>:<bound port>`.
    pub public_url: Option<String>,
    /// Largest request body accepted (64 KiB by default).
    pub body_limit: usize,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Longest a client may take to send the request headers, counted from
    /// the connection; a connection that sends nothing is closed after it.
    pub header_read_timeout: Duration,
    /// Most connections open at once (see `connections`).
    pub max_connections: usize,
    /// How long in-flight requests may take to finish after a stop signal.
    pub drain_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (for throttling).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Most whole lists (`GET /api/users`, an organization's detail,
    /// `page_size=-1`) written at once; the others wait their turn.
    pub list_concurrency: usize,
    /// How long a list waits for its turn before it is answered 503.
    pub list_queue_wait: Duration,
    /// Prometheus metrics; `/metrics` is on this listener when they have a
    /// bearer token.
    pub metrics: Option<crate::Metrics>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind_host: "127.0.0.1".into(),
            port: 0,
            public_url: None,
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            drain_timeout: Duration::from_secs(10),
            trusted_proxies: Vec::new(),
            list_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            list_queue_wait: Duration::from_secs(10),
            metrics: None,
        }
    }
}

/// A bound server: tests bind port 0 and read [`App::local_addr`].
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    config: HttpConfig,
    /// The background loop (the mail outbox when SMTP is configured, the
    /// audit log's retention), and what stops it: it runs while the server
    /// serves.
    background: Background,
}

struct Background {
    task: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Background")
    }
}

/// How often an idle outbox is looked at (a row another instance queued).
const MAIL_IDLE: Duration = Duration::from_secs(2);

fn router<S: Store>(
    state: Arc<AppState<S>>,
    timeout: Duration,
    metrics: Option<crate::Metrics>,
) -> Router {
    let https = state.url.https;
    let trusted: Arc<[ipnet::IpNet]> = state.trusted_proxies.clone().into();
    let for_audit = Arc::clone(&state);
    let mut routes = crate::api::routes::<S>().merge(crate::pages::routes::<S>());
    if let Some(m) = metrics.filter(crate::Metrics::on_public_listener) {
        routes = routes.route(
            "/metrics",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                let m = m.clone();
                async move { m.answer(&headers) }
            }),
        );
    }
    let routes = routes
        .route_layer(middleware::from_fn(crate::observe::record_route))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(crate::api::method_not_allowed)
        .with_state(state);
    // The layers wrap the router as a whole (a router's own layers wrap
    // each route's handlers, inside the `Allow` header its 405 gets).
    Router::new()
        .fallback_service(routes)
        // Audit entries written while answering record the client address.
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let st = Arc::clone(&for_audit);
            async move {
                let peer = req
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(a)| *a);
                let client = st.client(req.headers(), peer);
                app::audit::with_client(client, next.run(req)).await
            }
        }))
        .layer(middleware::from_fn(options))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            headers(req, next, https)
        }))
        .layer(middleware::from_fn(require_host))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            deadline(req, next, timeout)
        }))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            crate::observe::observe(req, next, Arc::clone(&trusted))
        }))
}

/// RFC 9112: an HTTP/1.1 request without `Host` is answered 400. (HTTP/2
/// names the authority in its own pseudo-header; HTTP/1.0 may omit it.)
async fn require_host(req: Request, next: Next) -> Response {
    if req.version() == axum::http::Version::HTTP_11 && !req.headers().contains_key(header::HOST) {
        return ApiError::BadRequest("An HTTP/1.1 request needs a Host header.".into())
            .into_response();
    }
    next.run(req).await
}

/// `OPTIONS` on a route says which methods it takes, as Label Studio's
/// framework does: 200 with `Allow` (the router's 405 already knows them)
/// and a short description; an unknown route stays 404.
async fn options(req: Request, next: Next) -> Response {
    let is_options = req.method() == axum::http::Method::OPTIONS;
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    if !is_options || resp.status() != axum::http::StatusCode::METHOD_NOT_ALLOWED {
        return resp;
    }
    let Some(allow) = resp
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
    else {
        return resp;
    };
    let allow = format!("{allow},OPTIONS");
    let body = serde_json::json!({
        "name": path,
        "renders": ["application/json"],
        "parses": ["application/json", "application/x-www-form-urlencoded"],
    });
    let mut ok = axum::Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&allow) {
        ok.headers_mut().insert(header::ALLOW, v);
    }
    ok
}

/// Every request is answered within the timeout.
async fn deadline(req: Request, next: Next, timeout: Duration) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// Headers every response carries; API answers (which may hold secrets) are
/// never cached; pages get an enforced CSP.
async fn headers(req: Request, next: Next, https: bool) -> Response {
    let is_static = req.uri().path().contains("/static/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A page that carries a token in its address sets its own (strict-origin).
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if is_html {
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        } else {
            // JSON, CSS, JS: nothing to run or frame.
            "default-src 'none'; frame-ancestors 'none'"
        }),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if !is_static {
        // Anything but the static files may carry a secret (a token, an
        // invite link, a CSRF token, a session cookie): never stored.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// A listener bound, not yet serving: a start binds first, so that a port
/// already taken stops it before anything is written.
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    config: HttpConfig,
}

impl Bound {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server on this listener, over `services`.
    pub fn serve<S: Store>(self, services: Arc<Services<S>>) -> App {
        let Bound {
            listener,
            addr,
            config,
        } = self;
        let public = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let state = Arc::new(AppState {
            services,
            url: PublicUrl::parse(&public),
            body_limit: config.body_limit,
            trusted_proxies: config.trusted_proxies.clone(),
            forwarded_warned: std::sync::atomic::AtomicBool::new(false),
            lists: crate::stream::ListGate::new(config.list_concurrency, config.list_queue_wait),
        });
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let background = Background {
            task: Box::pin(Arc::clone(&state.services).run_background(
                state.url.base.clone(),
                MAIL_IDLE,
                async move {
                    let _ = stopped.changed().await;
                },
            )),
            stop,
        };
        App {
            listener,
            router: router(state, config.request_timeout, config.metrics.clone()),
            addr,
            config,
            background,
        }
    }
}

impl App {
    /// Binds the configured address.
    pub async fn bind(config: &HttpConfig) -> std::io::Result<Bound> {
        let listener = TcpListener::bind((config.bind_host.as_str(), config.port)).await?;
        let addr = listener.local_addr()?;
        Ok(Bound {
            listener,
            addr,
            config: config.clone(),
        })
    }

    /// Binds and builds the server over `services` (tests; a start binds first).
    pub async fn build<S: Store>(
        services: Arc<Services<S>>,
        config: &HttpConfig,
    ) -> std::io::Result<App> {
        Ok(Self::bind(config).await?.serve(services))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve (HTTP/1.1 and HTTP/2) until `stop` resolves, then stop
    /// accepting and give in-flight requests up to the drain timeout.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.config.header_read_timeout)
            .keep_alive(true)
            .max_buf_size(64 * 1024);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(128)
            .keep_alive_interval(Duration::from_secs(30));
        let graceful = GracefulShutdown::new();
        let Background {
            task,
            stop: background_stop,
        } = self.background;
        let background = tokio::spawn(task);
        let connections = Connections::new(self.config.max_connections);
        let header_timeout = self.config.header_read_timeout;
        tokio::pin!(stop);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of file descriptors, say: back off instead of spinning.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let Some(admission) = connections.admit() else {
                        // Every open connection is in use: say so, and close.
                        tracing::warn!(open = connections.open(), "connection refused: too many connections");
                        let _ = stream.try_write(REFUSAL);
                        continue;
                    };
                    let Admission { slot, mut evicted, freed } = admission;
                    if let Some(freed) = freed {
                        // The silent connection closed for this one gives
                        // its descriptor back before another is taken.
                        let _ = tokio::time::timeout(Duration::from_millis(250), freed).await;
                    }
                    let router = self.router.clone();
                    // The first request head tells the connection's task
                    // that it has spoken.
                    let (first_tx, mut first_rx) = tokio::sync::oneshot::channel::<()>();
                    let first_tx = std::sync::Mutex::new(Some(first_tx));
                    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                        if let Some(tx) = first_tx.lock().ok().and_then(|mut t| t.take()) {
                            let _ = tx.send(());
                        }
                        req.extensions_mut().insert(ConnectInfo(peer));
                        router.clone().oneshot(req.map(axum::body::Body::new))
                    });
                    let builder = builder.clone();
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        // Hyper's header timeout starts at the first byte
                        // (and its HTTP/2 sniffing has none): until its
                        // first request head, a connection has the header
                        // timeout from the moment it was accepted, and may be
                        // closed sooner to make room for another.
                        let mut conn = Box::pin(watcher.watch(
                            builder.serve_connection(TokioIo::new(stream), service).into_owned(),
                        ));
                        let deadline = tokio::time::sleep(header_timeout);
                        tokio::pin!(deadline);
                        // `None`: it spoke; `Some(None)`: close it (silent too
                        // long, or closed to make room).
                        let ended = tokio::select! {
                            r = &mut conn => Some(Some(r)),
                            _ = &mut first_rx => None,
                            () = &mut deadline => Some(None),
                            _ = &mut evicted => Some(None),
                        };
                        let result = match ended {
                            Some(Some(r)) => r,
                            None if slot.spoke() => conn.await,
                            _ => {
                                // The socket goes before the place it held.
                                drop(conn);
                                drop(slot);
                                return;
                            }
                        };
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        drop(slot);
                    });
                }
                () = &mut stop => break,
            }
        }
        drop(self.listener);
        let _ = background_stop.send(true);
        tracing::info!("stopping: draining in-flight requests");
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(self.config.drain_timeout) => {
                tracing::warn!(seconds = self.config.drain_timeout.as_secs(), "drain timeout reached; closing remaining connections");
            }
        }
        // A mail being sent finishes (its row stays leased otherwise).
        let _ = tokio::time::timeout(Duration::from_secs(5), background).await;
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when first polled, so call it before announcing that the
/// server listens: a signal in between is then a graceful stop, not death
/// by the default action.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = term => {},
                () = int => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
