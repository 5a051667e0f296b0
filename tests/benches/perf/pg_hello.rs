//! The PostgreSQL baseline (issue 20, target 5): a bare hyper server that
//! answers each request with one indexed `SELECT` by primary key through
//! sqlx, on a pool as large as the server's. Started from this executable
//! with `--pg-hello URL`; prints its address.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::sqlx::{self, Row as _};

pub(crate) fn serve(url: &str, users: usize) {
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        let counter = Arc::new(AtomicU64::new(0));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (pool, counter) = (pool.clone(), Arc::clone(&counter));
            tokio::spawn(async move {
                let svc = service_fn(move |_req| {
                    let pool = pool.clone();
                    // Spread over the rows, as the tokens of whoami are.
                    let n = counter.fetch_add(7919, Ordering::Relaxed);
                    let id = (n % users as u64) as i64 + 2;
                    async move {
                        let row =
                            sqlx::query("SELECT id, email, username FROM users WHERE id = $1")
                                .bind(id)
                                .fetch_one(&pool)
                                .await
                                .unwrap();
                        let email: String = row.get(1);
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(hyper::body::Bytes::from(email)),
                        ))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}
