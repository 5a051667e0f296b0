//! The server's open connections, bounded: how many there are, and those
//! that have not sent a byte yet, oldest first. At the bound a new
//! connection closes the oldest silent one, so sockets that never speak
//! cannot keep the server from answering the ones that do; when every open
//! connection has spoken, the new one is refused with a 503.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// What a connection refused at the bound is told before it is closed.
pub(crate) const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Content-Type: application/json\r\nContent-Length: 51\r\nConnection: close\r\n\r\n\
{\"detail\": \"Too many connections: try again soon.\"}";

/// A silent connection as the queue holds it: its id, whether it was
/// closed to make room, what tells its task so, and what tells when its
/// socket is gone (its [`Slot`] dropped).
type Entry = (
    u64,
    Arc<AtomicBool>,
    oneshot::Sender<()>,
    oneshot::Receiver<()>,
);

#[derive(Debug)]
pub(crate) struct Connections {
    cap: usize,
    open: AtomicUsize,
    next_id: AtomicU64,
    /// The silent connections, oldest first. Every change of `open` and of
    /// an entry's eviction happens under this lock.
    silent: Mutex<VecDeque<Entry>>,
}

/// One open connection's place; dropping it frees the place (unless it
/// was already handed to another connection).
#[derive(Debug)]
pub(crate) struct Slot {
    conns: Arc<Connections>,
    id: u64,
    evicted: Arc<AtomicBool>,
    /// Dropped with the slot: tells whoever took its place that it is gone.
    _gone: oneshot::Sender<()>,
}

/// A new connection's place.
#[derive(Debug)]
pub(crate) struct Admission {
    pub(crate) slot: Slot,
    /// Resolves when this connection is to close to make room.
    pub(crate) evicted: oneshot::Receiver<()>,
    /// When a silent connection was closed for this one: resolves once its
    /// socket is gone. Wait for it before taking another descriptor, so
    /// that a flood of connections never holds more than the bound.
    pub(crate) freed: Option<oneshot::Receiver<()>>,
}

impl Connections {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            open: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            silent: Mutex::new(VecDeque::new()),
        })
    }

    fn silent(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.silent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a new connection, counted as silent until
    /// [`Slot::spoke`], with what tells it that it was closed to make room;
    /// `None` at the bound when no open connection is silent.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Admission> {
        let mut silent = self.silent();
        let mut freed = None;
        if self.open.load(Ordering::Acquire) >= self.cap {
            let (_, evicted, close, gone) = silent.pop_front()?;
            // Its place is ours from now on; its socket closes when its
            // task sees this.
            evicted.store(true, Ordering::Release);
            let _ = close.send(());
            self.open.fetch_sub(1, Ordering::AcqRel);
            freed = Some(gone);
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (close, evicted_rx) = oneshot::channel();
        let (gone_tx, gone_rx) = oneshot::channel();
        let evicted = Arc::new(AtomicBool::new(false));
        silent.push_back((id, Arc::clone(&evicted), close, gone_rx));
        Some(Admission {
            slot: Slot {
                conns: Arc::clone(self),
                id,
                evicted,
                _gone: gone_tx,
            },
            evicted: evicted_rx,
            freed,
        })
    }

    /// How many connections hold a place.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

impl Slot {
    /// The connection sent its first byte: `true`, and it is no longer
    /// closed to make room; `false` when it already was (close it).
    pub(crate) fn spoke(&self) -> bool {
        let mut silent = self.conns.silent();
        if self.evicted.load(Ordering::Acquire) {
            return false;
        }
        silent.retain(|(id, ..)| *id != self.id);
        true
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut silent = self.conns.silent();
        if self.evicted.load(Ordering::Acquire) {
            return;
        }
        silent.retain(|(id, ..)| *id != self.id);
        self.conns.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_bound_the_oldest_silent_connection_makes_room() {
        let conns = Connections::new(2);
        let mut a = conns.admit().unwrap();
        assert!(a.freed.is_none());
        let b = conns.admit().unwrap();
        assert!(b.slot.spoke());
        let mut c = conns.admit().unwrap();
        assert!(
            a.evicted.try_recv().is_ok(),
            "the oldest silent one is closed"
        );
        let mut freed = c.freed.take().unwrap();
        assert!(freed.try_recv().is_err(), "not gone yet");
        // Its first byte came too late: it is closed, and frees nothing twice.
        assert!(!a.slot.spoke());
        drop(a);
        assert!(freed.try_recv().is_err(), "gone: the sender is dropped");
        assert_eq!(conns.open(), 2);
        assert!(c.slot.spoke());
        let b = b.slot;
        // Everyone open has spoken: the next is refused.
        assert!(conns.admit().is_none());
        drop(b);
        assert_eq!(conns.open(), 1);
        assert!(conns.admit().is_some());
    }
    #[test]
    fn the_refusal_is_a_whole_response() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    }
}
