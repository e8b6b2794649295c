//! Jump host connections, shared by every target behind the same chain of hops.
//!
//! pyinfra (and `ssh -J`) open one connection to the bastion per target: a thousand hosts
//! behind one bastion are a thousand bastion logins at once, which sshd's `MaxStartups`
//! (10:30:100) answers by dropping connections. Here each distinct hop (by its place in the
//! chain) is connected once and carries every target's `direct-tcpip` channel; those are not
//! sessions, so `MaxSessions` does not limit them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use russh::client::Handle;

use crate::error::ConnectFailure;
use crate::host_keys::HostKeyVerifier;
use crate::session::{direct_tcpip, handshake_and_auth, tcp_connect, ClientHandler, Transport};
use crate::target::ResolvedTarget;

/// A live jump host connection; targets hold it while they use it.
pub(crate) type Hop = Arc<Handle<ClientHandler>>;

type Slot = Arc<tokio::sync::Mutex<Weak<Handle<ClientHandler>>>>;

/// Jump host connections by chain position (`user@a:22>user@b:22>`), kept while a target uses
/// them. One pool per [`SshInventory`](crate::SshInventory): its hosts share their hops.
#[derive(Default)]
pub struct JumpPool {
    slots: Mutex<HashMap<String, Slot>>,
}

impl std::fmt::Debug for JumpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JumpPool")
            .field("live", &self.live())
            .finish()
    }
}

impl JumpPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many jump host connections are open and in use.
    pub fn live(&self) -> usize {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .values()
            .filter(|s| {
                s.try_lock()
                    .map(|w| w.upgrade().is_some_and(|h| !h.is_closed()))
                    .unwrap_or(true)
            })
            .count()
    }

    fn slot(&self, key: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        // Forget hops nobody uses any more.
        slots.retain(|k, s| {
            k == key
                || Arc::strong_count(s) > 1
                || s.try_lock().map_or(true, |w| w.strong_count() > 0)
        });
        slots.entry(key.to_string()).or_default().clone()
    }
}

/// Connect (or reuse) every hop of `jumps`, nearest first.
pub(crate) async fn connect_chain(
    jumps: &[ResolvedTarget],
    verifier: &Arc<dyn HostKeyVerifier>,
    pool: &JumpPool,
) -> Result<Vec<Hop>, ConnectFailure> {
    let mut hops: Vec<Hop> = Vec::new();
    let mut key = String::new();
    for (i, jump) in jumps.iter().enumerate() {
        key.push_str(&jump.display());
        key.push('>');
        let slot = pool.slot(&key);
        // Held while connecting: targets reaching the same hop at once wait for one login.
        let mut shared = slot.lock().await;
        if let Some(hop) = shared.upgrade().filter(|h| !h.is_closed()) {
            hops.push(hop);
            continue;
        }
        let jump = Arc::new(jump.clone());
        let stream: Box<dyn Transport> = match hops.last() {
            None => Box::new(tcp_connect(&jump).await.map_err(|e| e.via(&jump.label))?),
            Some(prev) => {
                let prev_label = &jumps[i - 1].label;
                Box::new(
                    direct_tcpip(prev, &jump, prev_label)
                        .await
                        .map_err(|e| e.via(prev_label))?,
                )
            }
        };
        let handle = handshake_and_auth(jump.clone(), verifier.clone(), stream)
            .await
            .map_err(|e| e.via(&jump.label))?;
        let hop = Arc::new(handle);
        *shared = Arc::downgrade(&hop);
        hops.push(hop);
    }
    Ok(hops)
}
