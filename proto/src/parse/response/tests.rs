//! Unit tests of the response parser pieces (framing, resp-text, sections, body structure).
