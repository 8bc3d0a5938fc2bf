//! BODYSTRUCTURE (RFC 9051 section 7.5.2) from the stored MIME tree: every field filled from
//! the part's own header, case as written, with the defaults RFC 2045 gives.
//!
//! `body-fld-md5` is the Content-MD5 header's value when a part has one (as Dovecot and
//! Cyrus report it) and NIL otherwise; nothing is computed.

use roost_proto::{
    BodyStructure, Disposition, MultiPartExtension, SingleKind, SinglePart, SinglePartExtension,
};

use super::meta::{Kind, Part};

/// The structure of `part` and everything under it.
pub(crate) fn body_structure(part: &Part) -> BodyStructure {
    let c = &part.content;
    let disposition = c.disposition.as_ref().map(|(kind, params)| Disposition {
        kind: kind.clone(),
        params: params.clone(),
    });
    match &part.kind {
        Kind::Multi(parts) => BodyStructure::Multi {
            parts: parts.iter().map(body_structure).collect(),
            subtype: c.subtype.clone(),
            extension: MultiPartExtension {
                params: c.params.clone(),
                disposition,
                language: c.language.clone(),
                location: c.location.clone(),
            },
        },
        kind => {
            let single_kind = match kind {
                Kind::Message(inner, env) => SingleKind::Message {
                    envelope: Box::new(env.to_envelope()),
                    body: Box::new(body_structure(inner)),
                    lines: part.lines,
                },
                _ if c.is_type("text") => SingleKind::Text { lines: part.lines },
                _ => SingleKind::Basic,
            };
            BodyStructure::Single {
                body: SinglePart {
                    media_type: c.media_type.clone(),
                    subtype: c.subtype.clone(),
                    params: c.params.clone(),
                    id: c.id.clone(),
                    description: c.description.clone(),
                    encoding: c.encoding.clone().unwrap_or_else(|| b"7BIT".to_vec()),
                    octets: part.body.len(),
                    kind: single_kind,
                },
                extension: SinglePartExtension {
                    md5: c.md5.clone(),
                    disposition,
                    language: c.language.clone(),
                    location: c.location.clone(),
                },
            }
        }
    }
}
