//! The operator-command subscriber: a RESP3 connection that resubscribes after reconnecting.
//!
//! A plain `aio::PubSub` does not reconnect by itself; a `ConnectionManager` with automatic
//! resubscription does, but only when something notices the connection is gone and the retries
//! ran out while Redis was still down. So the task also pings once a second: that drives the
//! reconnection, and the manager replays the `SUBSCRIBE` on the new connection.

use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{ConnectionInfo, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::mpsc;

use super::manager_config;
use super::scripts::ADMIN_CHANNEL;
use crate::cluster::AdminCommand;

/// How often the subscriber checks its connection (and how soon it retries the first SUBSCRIBE).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Spawns the subscriber task; it ends when the returned receiver is dropped.
pub(super) fn subscribe(info: ConnectionInfo) -> mpsc::Receiver<AdminCommand> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(run(info, tx));
    rx
}

async fn run(info: ConnectionInfo, tx: mpsc::Sender<AdminCommand>) {
    // Push messages arrive on the connection itself (RESP3), so the same connection also serves
    // the keep-alive PING.
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let info = info.set_redis_settings(settings);
    let (push_tx, mut pushes) = mpsc::unbounded_channel::<PushInfo>();
    let config = manager_config()
        .set_push_sender(push_tx)
        .set_automatic_resubscription();
    let manager = ::redis::Client::open(info)
        .and_then(|client| ConnectionManager::new_lazy_with_config(client, config));
    let mut conn = match manager {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, "cannot set up the redis subscriber");
            return;
        }
    };
    // The manager only resubscribes to channels it saw confirmed, so the first SUBSCRIBE must
    // succeed once; retry it until Redis answers.
    loop {
        match conn.subscribe(ADMIN_CHANNEL).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, "redis subscribe failed; retrying");
                tokio::select! {
                    () = tokio::time::sleep(CHECK_EVERY) => {}
                    () = tx.closed() => return,
                }
            }
        }
    }
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            push = pushes.recv() => {
                let Some(push) = push else { return };
                if let Some(command) = decode(push) {
                    if tx.send(command).await.is_err() {
                        return;
                    }
                }
            }
            _ = tick.tick() => {
                // Errors are expected while Redis is down; the ping is only there to make the
                // manager reconnect (and resubscribe) as soon as it is back.
                let _ = ::redis::cmd("PING").query_async::<Value>(&mut conn).await;
            }
            () = tx.closed() => return,
        }
    }
}

/// The command in a `message` push; `None` for other pushes and undecodable payloads.
fn decode(push: PushInfo) -> Option<AdminCommand> {
    match push.kind {
        PushKind::Message => {}
        PushKind::Disconnection => {
            tracing::warn!(
                "redis subscriber disconnected; operator commands sent meanwhile are lost"
            );
            return None;
        }
        _ => return None,
    }
    // `message` pushes carry [channel, payload].
    let Some(Value::BulkString(payload)) = push.data.get(1) else {
        return None;
    };
    match postcard::from_bytes(payload) {
        Ok(command) => Some(command),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring an undecodable operator command");
            None
        }
    }
}
