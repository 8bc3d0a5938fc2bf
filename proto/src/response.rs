//! Streaming response decoder: the client side, used by tests and the load generator.
