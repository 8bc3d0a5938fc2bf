//! Bounds the decoder enforces on hostile or broken input.

/// Limits applied while decoding client input. Every one of them bounds memory or work per
/// command; the defaults follow what real clients need (`../shared/notes/clients.md`:
/// 64 KiB lines, multi-KB search commands, 50 MB messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line, without its literals, in octets.
    pub max_line: usize,
    /// Largest literal accepted, in octets. A larger synchronizing literal is refused before
    /// its data is sent; a larger non-synchronizing one is read and discarded.
    pub max_literal: u64,
    /// Largest non-synchronizing literal under LITERAL- (RFC 7888 section 4).
    pub max_literal_minus: u64,
    /// Largest whole command: all lines and literals together.
    pub max_command: u64,
    /// Deepest nesting of parentheses (search keys, body structures).
    pub max_depth: usize,
    /// Most ranges in one sequence set.
    pub max_set_ranges: usize,
    /// Most literals in one command (e.g. messages in one APPEND).
    pub max_literals: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
            max_literal_minus: 4096,
            max_command: 128 * 1024 * 1024,
            max_depth: 64,
            max_set_ranges: 100_000,
            max_literals: 1_000,
        }
    }
}
