//! ENVELOPE and BODYSTRUCTURE values (RFC 9051 section 7.5.2), computed by the server from a
//! parsed message and written by [`crate::encode`].
//!
//! Strings are raw bytes (`nstring`): header values may hold 8-bit data, and the writer picks
//! quoted or literal form from the content.

/// `NIL` or a string.
pub type NString = Option<Vec<u8>>;

/// `envelope` of RFC 9051 section 9.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    pub date: NString,
    pub subject: NString,
    pub from: Vec<Address>,
    pub sender: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: NString,
    pub message_id: NString,
}

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`.
///
/// A group is written as an address with `host: None` and `mailbox` the group name
/// (start), then its members, then an address with both `mailbox` and `host` `None` (end).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    pub name: NString,
    pub adl: NString,
    pub mailbox: NString,
    pub host: NString,
}

/// `body` of RFC 9051 section 9: one part, or a multipart with its children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyStructure {
    Single {
        body: SinglePart,
        /// Extension data, written only for BODYSTRUCTURE (never for BODY).
        extension: SinglePartExtension,
    },
    Multi {
        /// At least one part.
        parts: Vec<BodyStructure>,
        /// `media-subtype`, e.g. `MIXED`.
        subtype: Vec<u8>,
        extension: MultiPartExtension,
    },
}

/// `body-type-basic`, `body-type-msg` or `body-type-text` with the common `body-fields`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinglePart {
    /// e.g. `TEXT`, `IMAGE`, `MESSAGE`.
    pub media_type: Vec<u8>,
    pub subtype: Vec<u8>,
    /// `body-fld-param`: attribute/value pairs; empty is written as `NIL`.
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    pub id: NString,
    pub description: NString,
    /// `body-fld-enc`, e.g. `7BIT`, `BASE64`.
    pub encoding: Vec<u8>,
    /// `body-fld-octets`.
    pub octets: u32,
    pub kind: SingleKind,
}

/// What follows `body-fields` for the three single-part shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SingleKind {
    Basic,
    /// `TEXT/*`: `body-fld-lines`.
    Text {
        lines: u32,
    },
    /// `MESSAGE/RFC822` and `MESSAGE/GLOBAL`: the encapsulated message.
    Message {
        envelope: Box<Envelope>,
        body: Box<BodyStructure>,
        lines: u32,
    },
}

/// `body-ext-1part`: every slot present (NIL when empty), as real clients read by position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinglePartExtension {
    pub md5: NString,
    pub disposition: Option<Disposition>,
    /// `body-fld-lang`: `NIL`, one string, or a list.
    pub language: Vec<Vec<u8>>,
    pub location: NString,
}

/// `body-ext-mpart`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultiPartExtension {
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    pub disposition: Option<Disposition>,
    pub language: Vec<Vec<u8>>,
    pub location: NString,
}

/// `body-fld-dsp = "(" string SP body-fld-param ")" / nil`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disposition {
    pub kind: Vec<u8>,
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}
