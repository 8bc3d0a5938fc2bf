//! Primitives over a complete message: atoms, strings, literals, numbers, sequence sets.
