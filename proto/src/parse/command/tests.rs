//! Command parser unit tests.
