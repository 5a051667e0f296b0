//! `cargo run -p invite-gate`: the example service on 127.0.0.1:8090.
//! `GATE_ADMIN_KEY` guards the invite endpoints (default `change-me`).
#![forbid(unsafe_code)]

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::io::Result<()> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(std::io::Error::other)?;
    let admin = std::env::var("GATE_ADMIN_KEY").unwrap_or_else(|_| "change-me".into());
    let gate = invite_gate::Gate::new(secret, &admin, accounts::PasswordHasher::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8090").await?;
    println!("invite-gate on http://{}", listener.local_addr()?);
    axum::serve(listener, invite_gate::app(gate)).await
}
