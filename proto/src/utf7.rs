//! Modified UTF-7 mailbox names (RFC 3501 section 5.1.3), for IMAP4rev1 clients.

use crate::types::InvalidValue;

/// Decodes a modified UTF-7 name into UTF-8.
///
/// # Errors
/// When the input is not valid modified UTF-7 (8-bit bytes, bad base64, a shift sequence
/// that encodes printable ASCII, an unterminated shift, broken UTF-16).
pub fn decode(_wire: &[u8]) -> Result<String, InvalidValue> {
    todo!()
}

/// Encodes a UTF-8 name as modified UTF-7.
pub fn encode(_name: &str) -> Vec<u8> {
    todo!()
}
