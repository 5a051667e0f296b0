//! Lists of any length written to the socket as their rows arrive (issue
//! 20): `GET /api/users`, an organization's detail and `page_size=-1`.
//!
//! A producer task reads the rows in chunks (a keyset scan) and hands each
//! chunk's JSON to the response body through a channel of two: it reads
//! the next chunk only when the client has taken the one before, so memory
//! stays bounded whatever the list's length and the client's speed. A
//! client that stops reading for [`STALL`] loses its response (the
//! connection is cut, never a body that ends early as if whole), and so
//! does one whose list fails half-way.
//!
//! The [`ListGate`] bounds how many such lists are produced at once: the
//! rest wait their turn for [`HttpConfig::list_queue_wait`], then get 503
//! with `Retry-After`, so a burst of them cannot starve the short requests.
//!
//! [`HttpConfig::list_queue_wait`]: crate::HttpConfig::list_queue_wait

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use app::AppError;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::ApiError;

/// Longest the producer waits for the client to take a chunk.
const STALL: Duration = Duration::from_secs(30);

/// Longest a list may take in all: a client that takes a chunk just
/// before each stall would otherwise hold its turn (and the snapshot's
/// read transaction) for ever. 100,000 members take under 2 s.
const DEADLINE: Duration = Duration::from_secs(600);

/// Lists of at most this many members are read in one chunk and need no turn.
pub(crate) const SMALL_LIST: usize = app::MEMBER_CHUNK;

/// Bytes gathered before they are handed to the body.
const FLUSH_AT: usize = 64 * 1024;

/// How many heavy lists are produced at once, and how long one waits for
/// its turn.
#[derive(Debug)]
pub(crate) struct ListGate {
    permits: Arc<Semaphore>,
    queue_wait: Duration,
}

impl ListGate {
    pub(crate) fn new(concurrency: usize, queue_wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            queue_wait,
        }
    }

    /// A turn for a list of `members`, taken before its snapshot is opened
    /// (a list holds a database connection while it runs) and before any
    /// change its answer follows; none for a small one.
    pub(crate) async fn turn_for(
        &self,
        members: usize,
    ) -> Result<Option<OwnedSemaphorePermit>, ApiError> {
        if members <= SMALL_LIST {
            return Ok(None);
        }
        self.enter().await.map(Some)
    }

    /// A turn, or 503 after the queue wait.
    pub(crate) async fn enter(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        let permits = Arc::clone(&self.permits);
        match tokio::time::timeout(self.queue_wait, permits.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                tracing::warn!("list refused: every list turn stayed busy for the queue wait");
                Err(AppError::Busy {
                    retry_after_secs: 2,
                }
                .into())
            }
        }
    }
}

/// What the producer hands the body.
enum Piece {
    Data(Bytes),
    /// The list is whole.
    End,
}

/// Why a list stopped before its end.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Stopped {
    #[error("the client stopped reading or left")]
    Client,
    #[error("the list took longer than its deadline")]
    Deadline,
    #[error(transparent)]
    App(#[from] AppError),
    #[error("a row did not serialize: {0}")]
    Json(#[from] serde_json::Error),
}

/// The producer's side: JSON array items, comma-separated.
pub(crate) struct ListWriter {
    tx: mpsc::Sender<Piece>,
    buf: Vec<u8>,
    first: bool,
}

impl ListWriter {
    /// One item of the array.
    pub(crate) fn item(&mut self, value: &impl serde::Serialize) -> Result<(), Stopped> {
        if !std::mem::replace(&mut self.first, false) {
            self.buf.push(b',');
        }
        serde_json::to_writer(&mut self.buf, value)?;
        Ok(())
    }

    /// Hands what is gathered to the body once there is enough of it;
    /// waits while the client has not taken the chunk before.
    pub(crate) async fn flush(&mut self) -> Result<(), Stopped> {
        if self.buf.len() < FLUSH_AT {
            return Ok(());
        }
        self.send().await
    }

    async fn send(&mut self) -> Result<(), Stopped> {
        let data = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .send_timeout(Piece::Data(data), STALL)
            .await
            .map_err(|_| Stopped::Client)
    }
}

/// A 200 JSON response of `head`, the items `produce` writes, and `tail`,
/// produced while `permit` (the list's turn, if it needs one) is held.
pub(crate) fn json_list<F, Fut>(
    permit: Option<OwnedSemaphorePermit>,
    head: String,
    tail: &'static str,
    produce: F,
) -> Response
where
    F: FnOnce(ListWriter) -> Fut + Send + 'static,
    Fut: Future<Output = Result<ListWriter, Stopped>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Piece>(2);
    let writer = ListWriter {
        tx: tx.clone(),
        buf: head.into_bytes(),
        first: true,
    };
    tokio::spawn(async move {
        let _turn = permit;
        let ended = async {
            let mut w = tokio::time::timeout(DEADLINE, produce(writer))
                .await
                .map_err(|_| Stopped::Deadline)??;
            w.buf.extend_from_slice(tail.as_bytes());
            w.send().await?;
            tx.send_timeout(Piece::End, STALL)
                .await
                .map_err(|_| Stopped::Client)
        }
        .await;
        match ended {
            Ok(()) => {}
            Err(Stopped::Client) => tracing::debug!("list abandoned by its client"),
            Err(e) => tracing::warn!(error = %e, "list cut short"),
        }
    });
    let body = futures_util::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(Piece::Data(bytes)) => Some((Ok(bytes), Some(rx))),
            Some(Piece::End) => None,
            // The producer stopped before the end: cut the connection
            // rather than end a body that would look whole.
            None => Some((Err(std::io::Error::other("list cut short")), None)),
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `value` (a JSON object) as the head of a list that is its `key` member,
/// last: `{…,"key":[`.
pub(crate) fn object_head(value: &serde_json::Value, key: &str) -> Result<String, ApiError> {
    let mut text = serde_json::to_string(value)
        .map_err(|e| ApiError::Internal(format!("a list's head did not serialize: {e}")))?;
    if text.pop() != Some('}') {
        return Err(ApiError::Internal("a list's head is not an object".into()));
    }
    if text.len() > 1 {
        text.push(',');
    }
    text.push_str(&serde_json::to_string(key).unwrap_or_default());
    text.push_str(":[");
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_end_where_the_list_begins() {
        let v = serde_json::json!({"id": 1, "title": "a"});
        let head = object_head(&v, "users").unwrap();
        let whole: serde_json::Value = serde_json::from_str(&format!("{head}1,2]}}")).unwrap();
        assert_eq!(whole["users"], serde_json::json!([1, 2]));
        assert_eq!(whole["title"], "a");
        let empty = object_head(&serde_json::json!({}), "results").unwrap();
        assert_eq!(empty, "{\"results\":[");
    }

    #[tokio::test]
    async fn a_list_arrives_whole_and_a_failed_one_is_cut() {
        use http_body_util::BodyExt as _;
        let gate = ListGate::new(1, Duration::from_millis(50));
        let permit = gate.enter().await.unwrap();
        // The only turn is taken: the next waits, then is refused.
        assert!(gate.enter().await.is_err());
        let response = json_list(Some(permit), "[".into(), "]", |mut w| async move {
            for n in 0..20_000 {
                w.item(&n)?;
                w.flush().await?;
            }
            Ok(w)
        });
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let parsed: Vec<u32> = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed, (0..20_000).collect::<Vec<_>>());
        // The turn came back with the list's end.
        let permit = gate.turn_for(SMALL_LIST + 1).await.unwrap();
        assert!(permit.is_some());
        assert!(
            gate.turn_for(SMALL_LIST).await.unwrap().is_none(),
            "a small list needs no turn"
        );
        let response = json_list(permit, "[".into(), "]", |mut w| async move {
            w.item(&1)?;
            Err(Stopped::App(AppError::NotFound("User")))
        });
        assert!(response.into_body().collect().await.is_err());
    }
}
