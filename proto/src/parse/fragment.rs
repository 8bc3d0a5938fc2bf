//! Cuts the input stream into complete commands (lines and literals) and enforces limits.

use bytes::BytesMut;

use crate::decode::{Decoded, IdleLine, NonSyncLiterals, SaslLine};
use crate::limits::Limits;

/// Where the fragmenter is within the current command.
#[derive(Debug, Default)]
pub(crate) struct FragmentState {}

pub(crate) fn decode(
    _state: &mut FragmentState,
    _limits: &Limits,
    _non_sync: NonSyncLiterals,
    _buf: &mut BytesMut,
) -> Decoded {
    todo!("fragmenter")
}

pub(crate) fn decode_sasl_line(_limits: &Limits, _buf: &mut BytesMut) -> SaslLine {
    todo!("sasl line")
}

pub(crate) fn decode_idle_line(_limits: &Limits, _buf: &mut BytesMut) -> IdleLine {
    todo!("idle line")
}
