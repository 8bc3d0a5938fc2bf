//! Strategies for arbitrary responses (filled in below).
