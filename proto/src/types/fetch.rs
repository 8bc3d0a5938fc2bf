//! FETCH data items as requested by a client (RFC 9051 section 6.4.5, RFC 3501, RFC 7162,
//! RFC 8474).

/// What a FETCH asks for: a macro or a list of items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchItems {
    /// `ALL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`.
    All,
    /// `FAST` = `(FLAGS INTERNALDATE RFC822.SIZE)`.
    Fast,
    /// `FULL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`.
    Full,
    /// A single item or a parenthesised list, in the order the client wrote them.
    List(Vec<FetchAttribute>),
}

impl FetchItems {
    /// The items a macro stands for, or the list itself.
    pub fn expand(&self) -> Vec<FetchAttribute> {
        use FetchAttribute as A;
        match self {
            FetchItems::All => vec![A::Flags, A::InternalDate, A::Rfc822Size, A::Envelope],
            FetchItems::Fast => vec![A::Flags, A::InternalDate, A::Rfc822Size],
            FetchItems::Full => vec![
                A::Flags,
                A::InternalDate,
                A::Rfc822Size,
                A::Envelope,
                A::Body,
            ],
            FetchItems::List(v) => v.clone(),
        }
    }
}

/// One `fetch-att`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FetchAttribute {
    Envelope,
    Flags,
    InternalDate,
    Rfc822Size,
    /// `BODY` (the non-extensible body structure).
    Body,
    BodyStructure,
    Uid,
    /// `BODY[section]<partial>` or `BODY.PEEK[section]<partial>`.
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 9051 section 6.4.5).
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]`.
    BinarySize {
        part: Vec<u32>,
    },
    /// RFC 7162.
    ModSeq,
    /// RFC 8514 `SAVEDATE`.
    SaveDate,
    /// RFC 8474.
    EmailId,
    /// RFC 8474.
    ThreadId,
    /// RFC 8970 `PREVIEW`, or `PREVIEW (LAZY)`: the server may answer NIL rather than wait.
    Preview {
        lazy: bool,
    },
    /// IMAP4rev1 `RFC822` (= `BODY[]`).
    Rfc822,
    /// IMAP4rev1 `RFC822.HEADER` (= `BODY.PEEK[HEADER]`).
    Rfc822Header,
    /// IMAP4rev1 `RFC822.TEXT` (= `BODY[TEXT]`).
    Rfc822Text,
}

/// `<offset.length>`: at most `length` octets starting at `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Partial {
    pub offset: u32,
    pub length: u32,
}

/// `section = "[" [section-spec] "]"`: a part path and what of it.
///
/// `BODY[]` is `Section { part: vec![], text: None }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Section {
    /// `section-part`: `1.2.3`; empty for the whole message.
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

/// `section-msgtext` / `section-text`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SectionText {
    Header,
    /// `HEADER.FIELDS (names)`; names as the client wrote them (echoed back verbatim).
    HeaderFields(Vec<Vec<u8>>),
    /// `HEADER.FIELDS.NOT (names)`.
    HeaderFieldsNot(Vec<Vec<u8>>),
    Text,
    /// Only after a part number.
    Mime,
}

/// FETCH modifiers (RFC 7162 sections 3.1.4 and 3.2.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchModifiers {
    pub changed_since: Option<u64>,
    /// `VANISHED`: only valid with `UID FETCH` and `CHANGEDSINCE` once QRESYNC is enabled.
    pub vanished: bool,
}
