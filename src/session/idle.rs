//! IDLE (RFC 9051 section 6.3.13): wait for `DONE`, with a keep-alive `* OK` now and then so
//! NAT boxes and clients that expect periodic traffic keep the connection.

use std::time::Duration;

use actix::{AsyncContext, Context};
use roost_proto::decode::IdleLine;
use roost_proto::{Status, StatusKind, Tag};

use super::messages::{ReadMode, Reply};
use super::{Pending, Session};
use crate::telemetry::metrics::HeldGauge;

impl Session {
    pub(super) fn handle_idle(&mut self, tag: Tag, ctx: &mut Context<Self>) -> ReadMode {
        let every = Duration::from_secs(self.shared.config.limits.idle_keepalive_secs);
        let keepalive = ctx.run_interval(every, |session, ctx| {
            session.write_status(Status::untagged(StatusKind::Ok, None, "Still here"));
            if session.broken {
                session.close(ctx);
            }
        });
        self.write_continue("idling");
        self.write_notifications();
        self.pending = Pending::Idle {
            tag,
            keepalive,
            _gauge: HeldGauge::idle(),
        };
        ReadMode::IdleDone
    }

    pub(super) fn handle_idle_line(&mut self, line: IdleLine, ctx: &mut Context<Self>) -> Reply {
        let Pending::Idle {
            tag,
            keepalive,
            _gauge,
        } = std::mem::replace(&mut self.pending, Pending::None)
        else {
            // The I/O task only reads an IDLE line after we asked for one.
            return self.finish(ctx, ReadMode::Command);
        };
        if line == IdleLine::Incomplete {
            // Nothing to act on yet (the I/O task sends only whole lines); keep idling.
            self.pending = Pending::Idle {
                tag,
                keepalive,
                _gauge,
            };
            return self.reply(ReadMode::IdleDone);
        }
        ctx.cancel_future(keepalive);
        match line {
            IdleLine::Bad(reason) => self.write_status(Status::bad(
                tag,
                None,
                format!("expected DONE to end IDLE: {reason}"),
            )),
            IdleLine::Done | IdleLine::Incomplete => {
                self.write_status(Status::ok(tag, None, "IDLE terminated"))
            }
        }
        self.finish(ctx, ReadMode::Command)
    }
}
